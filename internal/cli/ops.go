package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ixnstore/ixnstore/client"
)

// The operator's commands: they read and act on a running server through the public client,
// as any other program would.

// Exit codes of the operator's commands, for scripts (docs/operations.md).
const (
	exitOK          = 0
	exitFailure     = 1 // anything else: a bug, an answer that could not be read
	exitUsage       = 2 // a wrong command line
	exitNotFound    = 3 // no such session, node, request
	exitRefused     = 4 // the server refused: a conflict, a lease held or lost, a bad value
	exitUnavailable = 5 // no answer, or the server says try later (503, 429)
	exitDenied      = 6 // no token, or one that may not do this (401, 403)
)

const opsUsage = `
Operating a running server (--url or $IXNSTORE_URL, --token or $IXNSTORE_TOKEN):
  ixnstore tail     [--session S|--node N] [--after P] [--event NAME,...]   the events, live
  ixnstore session  SID                 a session's state: interactions, parties, user data, owner, epoch
  ixnstore sessions --node N            the sessions a node owns
  ixnstore nodes                        the routing nodes and their leases
  ixnstore orphans                      the active sessions whose owner is gone
  ixnstore claim    SID --node N        give an orphaned session to a live node
  ixnstore release  SID [--to N]        take a session from its owner (to N, or to nobody)
  ixnstore requests --pending           the action requests waiting for the media side
Each takes -o json for scripts. Exit codes: 0 done, 1 failure, 2 usage, 3 not found,
4 refused, 5 unavailable, 6 access denied.
`

// isOpsCommand says whether cmd is one of the operator's commands.
func isOpsCommand(cmd string) bool {
	switch cmd {
	case "tail", "session", "sessions", "nodes", "orphans", "claim", "release", "requests":
		return true
	}
	return false
}

// opsFlags are the flags every operator command has.
type opsFlags struct {
	*Flags
	url, token, output string
}

func newOpsFlags(usage, synopsis string, stderr io.Writer) *opsFlags {
	f := &opsFlags{Flags: NewFlags(usage, synopsis, stderr)}
	f.EnvString(&f.url, "url", "IXNSTORE_URL", "http://127.0.0.1:8080", "the server's base URL")
	f.EnvString(&f.token, "token", "IXNSTORE_TOKEN", "", "the bearer token to send")
	f.StringVar(&f.output, "o", "text", "text (aligned, for people) or json (for scripts)")
	return f
}

// parse reads flags and positional arguments in any order; want is the number of
// positional arguments the command takes.
func (f *opsFlags) parse(args []string, want int) ([]string, error) {
	pos, err := f.ParsePositional(args)
	if err != nil {
		return nil, err
	}
	if len(pos) != want || (f.output != "text" && f.output != "json") {
		f.Usage()
		return nil, ErrUsage
	}
	return pos, nil
}

// start parses the command line and makes the client of the server it names.
func (f *opsFlags) start(args []string, want int) ([]string, *client.Client, error) {
	pos, err := f.parse(args, want)
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(f.url, client.Config{Token: f.token})
	return pos, c, err
}

// operate runs an operator command and says how it ended as its exit code.
func operate(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) int {
	var err error
	switch cmd {
	case "tail":
		err = opTail(ctx, args, stdout, stderr)
	case "session":
		err = opSession(ctx, args, stdout, stderr)
	case "sessions":
		err = opSessions(ctx, args, stdout, stderr)
	case "nodes":
		err = opNodes(ctx, args, stdout, stderr)
	case "orphans":
		err = opOrphans(ctx, args, stdout, stderr)
	case "claim":
		err = opClaim(ctx, args, stdout, stderr)
	case "release":
		err = opRelease(ctx, args, stdout, stderr)
	case "requests":
		err = opRequests(ctx, args, stdout, stderr)
	}
	return opsExitCode("ixnstore "+cmd, err, stderr)
}

func opsExitCode(command string, err error, stderr io.Writer) int {
	var e *client.Error
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, ErrUsage):
		return exitUsage
	case errors.As(err, &e):
		fmt.Fprintf(stderr, "%s: %v\n", command, err)
		switch {
		case e.Status == http.StatusNotFound:
			return exitNotFound
		case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
			return exitDenied
		case e.Status == 0 || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests:
			return exitUnavailable
		case e.Status >= 400 && e.Status < 500:
			return exitRefused
		}
	default:
		fmt.Fprintf(stderr, "%s: %v\n", command, err)
	}
	return exitFailure
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func opTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOpsFlags("ixnstore tail [flags]", "Prints the published events as they come, from a cursor on, reconnecting by itself (Ctrl-C to stop).", stderr)
	var (
		opts   client.StreamOptions
		names  string
		count  int
		noWait bool
	)
	f.StringVar(&opts.SessionID, "session", "", "only this session's events")
	f.StringVar(&opts.NodeID, "node", "", "only the events of the sessions this node owned when they were written")
	f.Int64Var(&opts.After, "after", 0, "start after this publication number (an event's pub_seq; 0: the oldest kept)")
	f.StringVar(&names, "event", "", "only events of these names, comma-separated")
	f.IntVar(&count, "n", 0, "stop after this many events (0: never)")
	f.BoolVar(&noWait, "no-follow", false, "stop once the events published so far are printed")
	_, c, err := f.start(args, 0)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for n := range strings.SplitSeq(names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			keep[n] = true
		}
	}
	var until int64
	if noWait {
		if until, err = lastPublished(ctx, c, opts); err != nil || until <= opts.After {
			return err
		}
	}
	printed := 0
	for ev, err := range c.Events(ctx, opts) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(keep) == 0 || keep[string(ev.Name)] {
			if f.output == "json" {
				raw, err := json.Marshal(ev)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s\n", raw)
			} else {
				data, _ := json.Marshal(ev.Data)
				fmt.Fprintf(stdout, "%-8d %s  %-16s %5d  %-36s %s\n", ev.PubSeq, when(ev.CreatedAt), ev.SessionID, ev.Seq, ev.Name, data)
			}
			printed++
		}
		if (count > 0 && printed >= count) || (until > 0 && ev.PubSeq >= until) {
			return nil
		}
	}
	return nil
}

// lastPublished is the publication number of the last event published so far that the
// filter keeps (0: none).
func lastPublished(ctx context.Context, c *client.Client, opts client.StreamOptions) (int64, error) {
	p := client.ListEventsParams{After: client.Ptr(int(opts.After)), Limit: client.Ptr(5000)}
	if opts.SessionID != "" {
		p.SessionID = client.Ptr(opts.SessionID)
	}
	if opts.NodeID != "" {
		p.NodeID = client.Ptr(opts.NodeID)
	}
	var last int64
	for {
		res, err := c.ListEventsWithResponse(ctx, &p)
		if err != nil {
			return 0, err
		}
		evs := res.JSON200.Events
		if len(evs) == 0 {
			return last, nil
		}
		last = evs[len(evs)-1].PubSeq
		p.After = client.Ptr(int(last))
	}
}

func opSession(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOpsFlags("ixnstore session SID [flags]", "Prints a session's state, read in one snapshot: owner and epoch, its interactions, their parties and user data.", stderr)
	pos, c, err := f.start(args, 1)
	if err != nil {
		return err
	}
	res, err := c.GetSessionWithResponse(ctx, pos[0])
	if err != nil {
		return err
	}
	s := res.JSON200
	if f.output == "json" {
		return writeJSON(stdout, s)
	}
	w := table(stdout)
	fmt.Fprintf(w, "session\t%s\tstate\t%s\n", s.SessionID, s.State)
	fmt.Fprintf(w, "owner\t%s\tepoch\t%d\n", orDash(s.OwnerNode), s.LeaseEpoch)
	fmt.Fprintf(w, "last seq\t%d\tcheckpoint\t%s\n", s.LastSeq, version(s.CheckpointVersion))
	fmt.Fprintf(w, "created\t%s\tupdated\t%s\n", when(s.CreatedAt), when(s.UpdatedAt))
	if s.TenantID != "" {
		fmt.Fprintf(w, "tenant\t%s\t\t\n", s.TenantID)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(s.Interactions) == 0 {
		fmt.Fprintln(stdout, "\nno live interactions")
		return nil
	}
	for _, in := range s.Interactions {
		fmt.Fprintln(stdout)
		w := table(stdout)
		fmt.Fprintln(w, "INTERACTION\tMEDIA\tTYPE\tSTATE\tCONTROLLED\tPARENT\tCREATED")
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.InteractionID, in.Media, in.Type, in.State, yesNo(in.Controlled), orDash(in.ParentID), when(in.CreatedAt))
		if err := w.Flush(); err != nil {
			return err
		}
		w = table(stdout)
		fmt.Fprintln(w, "  PARTY\tRESOURCE\tROLE\tSTATE\tSINCE")
		for _, p := range in.Parties {
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", p.PartyID, p.Resource, orDash(p.Role), p.State, when(p.UpdatedAt))
		}
		if err := w.Flush(); err != nil {
			return err
		}
		keys := make([]string, 0, len(in.Udata))
		for k := range in.Udata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w = table(stdout)
		if len(keys) == 0 {
			fmt.Fprintln(w, "  USER DATA\t(none)")
		} else {
			fmt.Fprintln(w, "  USER DATA\tVALUE")
		}
		for _, k := range keys {
			v, _ := json.Marshal(in.Udata[k])
			fmt.Fprintf(w, "  %s\t%s\n", k, v)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func version(v int64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("v%d", v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printSessions reads every page of a session list and prints it.
func printSessions(stdout io.Writer, output string, read func(after *string) (*client.SessionPage, error)) error {
	var sessions []client.Session
	var after *string
	for {
		page, err := read(after)
		if err != nil {
			return err
		}
		sessions = append(sessions, page.Sessions...)
		if page.Next == "" || len(page.Sessions) == 0 {
			break
		}
		after = client.Ptr(page.Next)
	}
	if output == "json" {
		if sessions == nil {
			sessions = []client.Session{}
		}
		return writeJSON(stdout, sessions)
	}
	w := table(stdout)
	fmt.Fprintln(w, "SESSION\tSTATE\tOWNER\tEPOCH\tLAST SEQ\tUPDATED")
	for _, s := range sessions {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", s.SessionID, s.State, orDash(s.OwnerNode), s.LeaseEpoch, s.LastSeq, when(s.UpdatedAt))
	}
	return w.Flush()
}

func opSessions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOpsFlags("ixnstore sessions --node N [flags]", "Lists the sessions a node owns.", stderr)
	var node, state string
	f.StringVar(&node, "node", "", "the node (required)")
	f.StringVar(&state, "state", "active", "active, ended, or all")
	_, c, err := f.start(args, 0)
	if err != nil {
		return err
	}
	if node == "" {
		f.Usage()
		return ErrUsage
	}
	return printSessions(stdout, f.output, func(after *string) (*client.SessionPage, error) {
		p := client.ListSessionsParams{OwnerNode: node, After: after}
		if state != "all" {
			p.State = client.Ptr(client.ListSessionsParamsState(state))
		}
		res, err := c.ListSessionsWithResponse(ctx, &p)
		if err != nil {
			return nil, err
		}
		return res.JSON200, nil
	})
}

func opOrphans(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOpsFlags("ixnstore orphans [flags]", "Lists the active sessions whose owner is gone: none, not registered, left, or its lease lapsed.", stderr)
	_, c, err := f.start(args, 0)
	if err != nil {
		return err
	}
	return printSessions(stdout, f.output, func(after *string) (*client.SessionPage, error) {
		res, err := c.ListOrphanedSessionsWithResponse(ctx, &client.ListOrphanedSessionsParams{After: after})
		if err != nil {
			return nil, err
		}
		return res.JSON200, nil
	})
}

func opNodes(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOpsFlags("ixnstore nodes [flags]", "Lists the registered routing nodes, alive or not, with the sessions each owns.", stderr)
	_, c, err := f.start(args, 0)
	if err != nil {
		return err
	}
	res, err := c.ListNodesWithResponse(ctx)
	if err != nil {
		return err
	}
	nodes := res.JSON200.Nodes
	if f.output == "json" {
		if nodes == nil {
			nodes = []client.NodeInfo{}
		}
		return writeJSON(stdout, nodes)
	}
	w := table(stdout)
	fmt.Fprintln(w, "NODE\tALIVE\tSESSIONS\tCAPACITY\tLEASE\tLEASE ENDS\tADDRESS")
	for _, n := range nodes {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", n.NodeID, yesNo(n.Alive), n.Owned, n.Capacity,
			time.Duration(n.LeaseMs)*time.Millisecond, when(n.LeaseExpiresAt), orDash(n.Address))
	}
	return w.Flush()
}

func printTakeover(stdout io.Writer, output, verb string, t *client.Takeover) error {
	if output == "json" {
		return writeJSON(stdout, t)
	}
	w := table(stdout)
	fmt.Fprintf(w, "%s\t%s\n", verb, t.Session.SessionID)
	fmt.Fprintf(w, "owner\t%s\n", orDash(t.Session.OwnerNode))
	fmt.Fprintf(w, "epoch\t%d\n", t.Session.LeaseEpoch)
	fmt.Fprintf(w, "restored\t%d interactions\n", len(t.Events))
	return w.Flush()
}

func opClaim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOpsFlags("ixnstore claim SID --node N [flags]", "Gives an orphaned session to a live node (as if it claimed it): epoch + 1, interaction.restored for each interaction.", stderr)
	var node string
	f.StringVar(&node, "node", "", "the live node that takes it (required)")
	pos, c, err := f.start(args, 1)
	if err != nil {
		return err
	}
	if node == "" {
		f.Usage()
		return ErrUsage
	}
	res, err := c.ClaimSessionWithResponse(ctx, pos[0], nil, client.ClaimSessionJSONRequestBody{NodeID: node})
	if err != nil {
		return err
	}
	return printTakeover(stdout, f.output, "claimed", res.JSON200)
}

func opRelease(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOpsFlags("ixnstore release SID [flags]", "Takes a session from its owner, to another node or to nobody (orphaned); the owner's later writes are refused (epoch + 1).", stderr)
	var to string
	var epoch int
	f.StringVar(&to, "to", "", "the node that takes it (none: orphaned)")
	f.IntVar(&epoch, "epoch", 0, "refuse unless the session is at this epoch (0: whatever it is)")
	pos, c, err := f.start(args, 1)
	if err != nil {
		return err
	}
	var params *client.ReleaseSessionParams
	if epoch > 0 {
		params = &client.ReleaseSessionParams{XLeaseEpoch: client.Ptr(epoch)}
	}
	res, err := c.ReleaseSessionWithResponse(ctx, pos[0], params, client.ReleaseSessionJSONRequestBody{ToNode: to})
	if err != nil {
		return err
	}
	return printTakeover(stdout, f.output, "released", res.JSON200)
}

func opRequests(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOpsFlags("ixnstore requests --pending [flags]", "Lists the action requests waiting for the media side, in the order they were made.", stderr)
	var media string
	var pending bool
	f.BoolVar(&pending, "pending", true, "the pending requests (the only ones listed: an ended request is read with its session)")
	f.StringVar(&media, "media", "", "only requests on interactions of this media")
	_, c, err := f.start(args, 0)
	if err != nil {
		return err
	}
	if !pending {
		f.Usage()
		return ErrUsage
	}
	var all []client.Request
	p := client.ListPendingRequestsParams{}
	if media != "" {
		p.Media = client.Ptr(media)
	}
	for {
		res, err := c.ListPendingRequestsWithResponse(ctx, &p)
		if err != nil {
			return err
		}
		all = append(all, res.JSON200.Requests...)
		if res.JSON200.Next == "" || len(res.JSON200.Requests) == 0 {
			break
		}
		p.After = client.Ptr(res.JSON200.Next)
	}
	if f.output == "json" {
		if all == nil {
			all = []client.Request{}
		}
		return writeJSON(stdout, all)
	}
	w := table(stdout)
	fmt.Fprintln(w, "SESSION\tREQUEST\tACTION\tINTERACTION\tMEDIA\tNODE\tDEADLINE")
	for _, r := range all {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.SessionID, r.RequestID, r.Action, r.InteractionID, orDash(r.Media), orDash(r.NodeID), when(r.Deadline))
	}
	return w.Flush()
}
