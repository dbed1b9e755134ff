package rollup

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Histogram counts durations by bucket. The buckets are those of the SQL function
// ixn_duration_bucket (sql/functions/ixn_duration_bucket.sql), their one definition: bucket 0
// holds what is shorter than a millisecond, bucket k ≥ 1 the durations in
// [1 ms·2^((k-1)/16), 1 ms·2^(k/16)). This side only reads buckets back as durations.
//
// The counts are dense, by bucket number: a report adds thousands of rows of a few dozen
// buckets each, and a slice index is several times cheaper than a map's. The zero Histogram
// is empty.
type Histogram struct {
	counts []int64
}

// MaxBucket is the largest bucket a Histogram holds: 2^(4096/16) ms is far beyond any duration
// (a century is bucket 555). A packed histogram with a larger one is refused as corrupt.
const MaxBucket = 4095

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

// Add adds n to a bucket's count (n < 0 takes away). The bucket is one ixn_duration_bucket
// gave: within [0, MaxBucket].
func (h *Histogram) Add(bucket int32, n int64) {
	if int(bucket) >= len(h.counts) {
		h.grow(int(bucket) + 1)
	}
	h.counts[bucket] += n
}

// grow makes room for n buckets, with room to spare: rows come with their buckets ascending,
// and growing one bucket at a time would copy the counts for each.
func (h *Histogram) grow(n int) {
	if n > cap(h.counts) {
		counts := make([]int64, n, max(2*cap(h.counts), n+64))
		copy(counts, h.counts)
		h.counts = counts
		return
	}
	h.counts = h.counts[:n]
}

// Merge adds the counts of o.
func (h *Histogram) Merge(o *Histogram) {
	for b, n := range o.counts {
		if n != 0 {
			h.Add(int32(b), n)
		}
	}
}

// packedEntry is the size of a bucket in a packed histogram: its number (int32) then its count
// (int64), big-endian.
const packedEntry = 12

// Pack returns the histogram as report_rollups keeps it (sql/functions/ixn_histogram_entries.sql
// reads it): each bucket's number and count, buckets ascending.
func (h *Histogram) Pack() []byte {
	buckets, counts := h.Arrays()
	b := make([]byte, 0, len(buckets)*packedEntry)
	for i, bucket := range buckets {
		b = binary.BigEndian.AppendUint32(b, uint32(bucket))
		b = binary.BigEndian.AppendUint64(b, uint64(counts[i]))
	}
	return b
}

// AddPacked adds (sign 1) or takes away (sign -1) a packed histogram (Pack).
func (h *Histogram) AddPacked(packed []byte, sign int64) error {
	if len(packed)%packedEntry != 0 {
		return fmt.Errorf("a packed histogram of %d bytes: not a multiple of %d", len(packed), packedEntry)
	}
	for i := 0; i < len(packed); i += packedEntry {
		bucket := int32(binary.BigEndian.Uint32(packed[i:]))
		if bucket < 0 || bucket > MaxBucket {
			return fmt.Errorf("a packed histogram with bucket %d: not within [0, %d]", bucket, MaxBucket)
		}
		h.Add(bucket, sign*int64(binary.BigEndian.Uint64(packed[i+4:])))
	}
	return nil
}

// Arrays returns the buckets that hold a count, ascending, and their counts.
func (h *Histogram) Arrays() ([]int32, []int64) {
	var buckets []int32
	var counts []int64
	for b, n := range h.counts {
		if n != 0 {
			buckets, counts = append(buckets, int32(b)), append(counts, n)
		}
	}
	return buckets, counts
}

// Count is how many durations the histogram holds.
func (h *Histogram) Count() int64 {
	var n int64
	for _, c := range h.counts {
		n += c
	}
	return n
}

// Percentile estimates percentile_cont(p) (0 ≤ p ≤ 1) of the durations counted, in seconds, as
// PostgreSQL computes it from the values: the order statistics at both sides of rank p·(n-1),
// each read as its bucket's middle, interpolated. 0 when the histogram is empty.
func (h *Histogram) Percentile(p float64) float64 { return h.Percentiles(p)[0] }

// Percentiles is Percentile of each p, the buckets sorted once for all of them (a report
// reads three percentiles of each of hundreds of groups).
func (h *Histogram) Percentiles(ps ...float64) []float64 {
	out := make([]float64, len(ps))
	n := h.Count()
	if n <= 0 {
		return out
	}
	at := func(i int64) float64 { // the bucket middle of the i-th smallest duration (0-based)
		last := 0
		for b, c := range h.counts {
			if c == 0 {
				continue
			}
			if i < c {
				return BucketMiddle(int32(b))
			}
			i -= c
			last = b
		}
		return BucketMiddle(int32(last))
	}
	for k, p := range ps {
		rank := p * float64(n-1)
		lo, hi := int64(math.Floor(rank)), int64(math.Ceil(rank))
		vlo := at(lo)
		out[k] = vlo + (rank-float64(lo))*(at(hi)-vlo)
	}
	return out
}
