package rollup

// Sums are one group's figures as the rollups add them up: counts by outcome, durations as
// sums (microseconds) and histograms, transfers and conferences. The worker adds and takes
// away interactions; the report adds hours and rows and reads averages and percentiles.
type Sums struct {
	Total, Live, Completed, Abandoned, Merged, Moved int64
	// Handle times: of the interactions that ended.
	HandleSumUs int64
	Handle      Histogram
	// Times to the first connected party: of those that were connected.
	Connected, ConnectSumUs int64
	Connect                 Histogram
	Transfers, Conferences  int64
}

// NewSums returns empty sums.
func NewSums() *Sums { return &Sums{} }

// AddOutcome counts n interactions (n < 0 takes away) that ended so (or are live).
func (s *Sums) AddOutcome(outcome string, n int64) {
	s.Total += n
	switch outcome {
	case "live":
		s.Live += n
	case "completed":
		s.Completed += n
	case "abandoned":
		s.Abandoned += n
	case "merged":
		s.Merged += n
	case "moved":
		s.Moved += n
	}
}

// Fact is what one interaction gives its groups, or n alike (n < 0 takes them away).
type Fact struct {
	Outcome string
	N       int64
	// HandleBucket is nil for a live interaction; ConnectBucket for one never connected.
	HandleBucket, ConnectBucket *int32
	HandleSumUs, ConnectSumUs   int64
	Connected                   int64
	Transfers, Conferences      int64
}

// Add adds a fact.
func (s *Sums) Add(f Fact) {
	s.AddOutcome(f.Outcome, f.N)
	if f.HandleBucket != nil {
		s.Handle.Add(*f.HandleBucket, f.N)
	}
	s.HandleSumUs += f.HandleSumUs
	if f.ConnectBucket != nil {
		s.Connect.Add(*f.ConnectBucket, f.Connected)
	}
	s.Connected += f.Connected
	s.ConnectSumUs += f.ConnectSumUs
	s.Transfers += f.Transfers
	s.Conferences += f.Conferences
}

// Merge adds the sums o.
func (s *Sums) Merge(o *Sums) {
	s.Total += o.Total
	s.Live += o.Live
	s.Completed += o.Completed
	s.Abandoned += o.Abandoned
	s.Merged += o.Merged
	s.Moved += o.Moved
	s.HandleSumUs += o.HandleSumUs
	s.Connected += o.Connected
	s.ConnectSumUs += o.ConnectSumUs
	s.Transfers += o.Transfers
	s.Conferences += o.Conferences
	s.Handle.Merge(&o.Handle)
	s.Connect.Merge(&o.Connect)
}
