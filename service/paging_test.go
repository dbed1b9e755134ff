package service_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

// The session lists are read in pages by id: following next from the start gives every
// session once, in order, whatever the page size; the last page has no next.
func TestSessionPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	owners := map[string]*string{}
	var n1Active, n1All []string
	for i := range 7 {
		for _, owner := range []*string{nil, ptr("n1"), ptr("n2")} {
			id := fmt.Sprintf("s%02d-%v", i, deref(owner))
			must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: id, OwnerNode: owner}))
			owners[id] = owner
			if owner != nil && *owner == "n1" {
				n1All = append(n1All, id)
			}
		}
	}
	// Two of n1's sessions end: they are neither active nor orphaned.
	for _, id := range n1All[:2] {
		must[[]service.Event](t)(s.EndSession(ctx, service.Target{SessionID: id}))
	}
	n1Active = n1All[2:]
	var allActive []string
	for id := range owners {
		if !slices.Contains(n1All[:2], id) {
			allActive = append(allActive, id)
		}
	}
	slices.Sort(allActive) // n1 and n2 never registered: every active session is orphaned

	type lister = func(after string, limit int) (service.SessionPage, error)
	tests := []struct {
		name string
		list lister
		want []string
	}{
		{"orphaned", func(after string, limit int) (service.SessionPage, error) {
			return s.ListOrphanedSessions(ctx, after, limit)
		}, allActive},
		{"a node's, any state", func(after string, limit int) (service.SessionPage, error) {
			return s.ListNodeSessions(ctx, "n1", "", after, limit)
		}, n1All},
		{"a node's active", func(after string, limit int) (service.SessionPage, error) {
			return s.ListNodeSessions(ctx, "n1", "active", after, limit)
		}, n1Active},
		{"a node's ended", func(after string, limit int) (service.SessionPage, error) {
			return s.ListNodeSessions(ctx, "n1", "ended", after, limit)
		}, n1All[:2]},
		{"a node with none", func(after string, limit int) (service.SessionPage, error) {
			return s.ListNodeSessions(ctx, "n9", "", after, limit)
		}, nil},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 5, service.MaxSessionsPage} {
			t.Run(fmt.Sprintf("%s by %d", tt.name, limit), func(t *testing.T) {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > len(tt.want)+1 {
						t.Fatalf("more pages than sessions: %v", got)
					}
					page := must[service.SessionPage](t)(tt.list(after, limit))
					if len(page.Sessions) > limit {
						t.Fatalf("a page of %d, limit %d", len(page.Sessions), limit)
					}
					for _, s := range page.Sessions {
						got = append(got, s.SessionID)
					}
					if page.Next == nil {
						break
					}
					after = *page.Next
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("listed %v, want %v", got, tt.want)
				}
			})
		}
	}

	for _, bad := range []struct {
		name string
		run  func() error
	}{
		{"limit 0", func() error { _, err := s.ListOrphanedSessions(ctx, "", 0); return err }},
		{"limit past the most", func() error { _, err := s.ListNodeSessions(ctx, "n1", "", "", service.MaxSessionsPage+1); return err }},
		{"no node", func() error { _, err := s.ListNodeSessions(ctx, "", "", "", 10); return err }},
		{"an unknown state", func() error { _, err := s.ListNodeSessions(ctx, "n1", "sleeping", "", 10); return err }},
	} {
		if err := bad.run(); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", bad.name, err)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}
