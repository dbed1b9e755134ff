package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// message is one Server-Sent Events message.
type message struct {
	id, event string
	data      []byte
}

// readSSE reads messages from r and hands each to yield until r ends or yield says stop.
// Comments (keep-alives) only prove the connection lives: they call alive.
func readSSE(r io.Reader, alive func(), yield func(message) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var m message
	var data bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long data line: gather it whole.
			rest, err2 := br.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		if err != nil {
			return err
		}
		alive()
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if data.Len() > 0 || m.event != "" {
				m.data = bytes.Clone(data.Bytes())
				if !yield(m) {
					return nil
				}
			}
			m, data = message{}, bytes.Buffer{}
		case line[0] == ':':
		default:
			field, value, _ := strings.Cut(string(line), ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				m.id = value
			case "event":
				m.event = value
			case "data":
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(value)
			}
		}
	}
}

// Backoff is how a stream waits before it connects again: a random time (full jitter) up to
// Min doubled for each failure in a row, at most Max.
type Backoff struct {
	Min, Max time.Duration
}

// Delay is the wait before the next attempt after failures failed ones in a row.
func (b Backoff) Delay(failures int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi < lo {
		hi = max(lo, 5*time.Second)
	}
	d := lo << min(failures, 20)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}

// follow connects to a stream with open, reads its messages into handle, and connects again
// after a drop (the server restarted, the connection was cut, a stream.cut) with backoff,
// until ctx ends or the server refuses in a way retrying cannot fix. open is given nothing:
// it resumes from whatever cursor handle has recorded.
func follow(ctx context.Context, d *doer, backoff Backoff, idle time.Duration, open func() (*http.Request, error), handle func(message) bool) error {
	failures := 0
	for {
		req, err := open()
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "text/event-stream")
		cctx, cancel := context.WithCancel(ctx)
		req = req.WithContext(cctx)
		delivered := false
		var retryAfter time.Duration
		res, err := d.Do(req)
		if err == nil {
			watchdog := time.AfterFunc(idle, cancel)
			stop := false
			_ = readSSE(res.Body, func() { watchdog.Reset(idle) }, func(m message) bool {
				delivered = true
				if !handle(m) {
					stop = true
					return false
				}
				return true
			})
			watchdog.Stop()
			res.Body.Close()
			cancel()
			if stop {
				return nil
			}
		} else {
			cancel()
			var e *Error
			if errors.As(err, &e) {
				if e.Status != 0 && !retryable(e) {
					return e
				}
				retryAfter = e.RetryAfter
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if delivered {
			failures = 0
		}
		wait := max(backoff.Delay(failures), retryAfter)
		failures++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// retryable: a refusal that another try may not get (the server is away or busy).
func retryable(e *Error) bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}
