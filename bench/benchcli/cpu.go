package benchcli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// cpuMeter counts the CPU time a running ixnstore and the PostgreSQL backends of its
// database spend, from /proc. On a machine shared with other work a rate (changes/s) swings
// with whatever else runs, while the CPU time one change costs stays close to what it is:
// comparing builds by CPU per change finds a regression of a few percent that throughput
// rounds on a busy machine hide.
type cpuMeter struct {
	servePID int
	dbURL    string // the server (any database on it) where pg_stat_activity is read
	database string // the database the ixnstore serves
}

// cpuSample is CPU time in clock ticks, for the ixnstore process and for the backends.
type cpuSample struct {
	serve    int64
	backends map[int32]int64
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux ABI Go runs on.
const clockTicks = 100

func (m *cpuMeter) sample(ctx context.Context) (cpuSample, error) {
	serve, err := procTicks(m.servePID)
	if err != nil {
		return cpuSample{}, fmt.Errorf("--cpu-of %d: %w", m.servePID, err)
	}
	conn, err := pgx.Connect(ctx, m.dbURL)
	if err != nil {
		return cpuSample{}, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", m.database)
	if err != nil {
		return cpuSample{}, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return cpuSample{}, err
	}
	s := cpuSample{serve: serve, backends: map[int32]int64{}}
	for _, pid := range pids {
		t, err := procTicks(int(pid))
		if err != nil {
			continue // the backend ended between the list and its read
		}
		s.backends[pid] = t
	}
	return s, nil
}

// procTicks reads utime + stime of one process.
func procTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields start after its last ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64) // field 14 of stat(5)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return utime + stime, nil
}

// perChange says what the CPU between two samples cost per change, in microseconds. A
// backend that started between the samples counts from zero, one that ended is left out: a pool opens its connections
// while the seed runs, before the first sample, so that is rare and small.
func perChange(before, after cpuSample, changes int) string {
	if changes == 0 {
		return "no changes"
	}
	var backendTicks int64
	for pid, t := range after.backends {
		backendTicks += t - before.backends[pid]
	}
	us := func(ticks int64) float64 { return float64(ticks) * 1e6 / clockTicks / float64(changes) }
	serve, backends := us(after.serve-before.serve), us(backendTicks)
	return fmt.Sprintf("serve %.0f µs, database %.0f µs, total %.0f µs", serve, backends, serve+backends)
}
