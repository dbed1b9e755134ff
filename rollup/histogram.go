package rollup

import (
	"math"
	"slices"
)

// Histogram counts durations by bucket. The buckets are those of the SQL function
// ixn_duration_bucket (sql/functions/ixn_duration_bucket.sql), their one definition: bucket 0
// holds what is shorter than a millisecond, bucket k ≥ 1 the durations in
// [1 ms·2^((k-1)/16), 1 ms·2^(k/16)). This side only reads buckets back as durations.
type Histogram map[int32]int64

// BucketsPerDoubling is how many buckets split each doubling of a duration.
const BucketsPerDoubling = 16

// RelativeError bounds how far a bucket's middle is from any duration in it (buckets of 1 ms
// and more): (2^(1/16) - 1) / (2^(1/16) + 1), about 2.2%. Bucket 0 is within half a
// millisecond.
var RelativeError = (math.Exp2(1.0/BucketsPerDoubling) - 1) / (math.Exp2(1.0/BucketsPerDoubling) + 1)

// BucketMiddle is the duration, in seconds, that stands for a bucket's durations.
func BucketMiddle(bucket int32) float64 {
	if bucket <= 0 {
		return 0.0005
	}
	lower := 0.001 * math.Exp2(float64(bucket-1)/BucketsPerDoubling)
	upper := 0.001 * math.Exp2(float64(bucket)/BucketsPerDoubling)
	return (lower + upper) / 2
}

// Add adds n to a bucket's count (n < 0 takes away); a count that reaches 0 goes.
func (h Histogram) Add(bucket int32, n int64) {
	if c := h[bucket] + n; c != 0 {
		h[bucket] = c
	} else {
		delete(h, bucket)
	}
}

// AddArrays adds (sign 1) or takes away (sign -1) a histogram kept as bucket and count arrays.
func (h Histogram) AddArrays(buckets []int32, counts []int64, sign int64) {
	for i, b := range buckets {
		h.Add(b, sign*counts[i])
	}
}

// Arrays returns the histogram as bucket and count arrays, buckets ascending (as the rollups
// keep it).
func (h Histogram) Arrays() ([]int32, []int64) {
	buckets := make([]int32, 0, len(h))
	for b := range h {
		buckets = append(buckets, b)
	}
	slices.Sort(buckets)
	counts := make([]int64, len(buckets))
	for i, b := range buckets {
		counts[i] = h[b]
	}
	return buckets, counts
}

// Count is how many durations the histogram holds.
func (h Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Percentile estimates percentile_cont(p) (0 ≤ p ≤ 1) of the durations counted, in seconds, as
// PostgreSQL computes it from the values: the order statistics at both sides of rank p·(n-1),
// each read as its bucket's middle, interpolated. 0 when the histogram is empty.
func (h Histogram) Percentile(p float64) float64 { return h.Percentiles(p)[0] }

// Percentiles is Percentile of each p, the buckets sorted once for all of them (a report
// reads three percentiles of each of hundreds of groups).
func (h Histogram) Percentiles(ps ...float64) []float64 {
	out := make([]float64, len(ps))
	buckets, counts := h.Arrays()
	var n int64
	for _, c := range counts {
		n += c
	}
	if n <= 0 {
		return out
	}
	at := func(i int64) float64 { // the bucket middle of the i-th smallest duration (0-based)
		for j, c := range counts {
			if i < c {
				return BucketMiddle(buckets[j])
			}
			i -= c
		}
		return BucketMiddle(buckets[len(buckets)-1])
	}
	for k, p := range ps {
		rank := p * float64(n-1)
		lo, hi := int64(math.Floor(rank)), int64(math.Ceil(rank))
		vlo := at(lo)
		out[k] = vlo + (rank-float64(lo))*(at(hi)-vlo)
	}
	return out
}
