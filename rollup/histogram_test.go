package rollup

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

func TestPackedHistogramRoundTrip(t *testing.T) {
	var h Histogram
	h.Add(300, 4)
	h.Add(0, 1)
	h.Add(17, 2)
	h.Add(17, -2) // back to none: not packed
	var back Histogram
	if err := back.AddPacked(h.Pack(), 1); err != nil {
		t.Fatal(err)
	}
	buckets, counts := back.Arrays()
	if !slices.Equal(buckets, []int32{0, 300}) || !slices.Equal(counts, []int64{1, 4}) {
		t.Fatalf("buckets %v counts %v, want [0 300] [1 4]", buckets, counts)
	}
	if err := back.AddPacked(h.Pack(), -1); err != nil {
		t.Fatal(err)
	}
	if back.Count() != 0 || len(back.Pack()) != 0 {
		t.Fatalf("taken away again, it holds %d (%x)", back.Count(), back.Pack())
	}
}

func TestCorruptPackedHistogramsAreRefused(t *testing.T) {
	entry := func(bucket int32, n int64) []byte {
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, uint32(bucket)), uint64(n))
	}
	tests := []struct {
		name   string
		packed []byte
		want   string
	}{
		{"cut short", entry(3, 1)[:11], "not a multiple of 12"},
		{"a negative bucket", entry(-1, 1), "bucket -1"},
		{"a bucket beyond any duration", entry(MaxBucket+1, 1), "bucket 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			err := h.AddPacked(tt.packed, 1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}
