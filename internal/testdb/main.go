package testdb

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
)

// MainTB runs test helpers (URL, a server of the database) from a TestMain, which has no
// test to fail or skip: a package's runnable examples need a server before any test runs.
// It is the little of testing.TB those helpers use.
type MainTB struct {
	testing.TB
	cleanups []func()
	err      error
}

// Do runs f as a test would; a Fatal or Skip in it ends f and is returned (under CI a
// missing database is a Fatal, elsewhere a Skip, whose error starts with "skipped:").
func (m *MainTB) Do(f func(testing.TB)) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(m)
	}()
	<-done
	return m.err
}

// Close runs the cleanups f registered, last first.
func (m *MainTB) Close() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	m.cleanups = nil
}

func (*MainTB) Helper()                     {}
func (*MainTB) Logf(string, ...any)         {}
func (*MainTB) Name() string                { return "TestMain" }
func (m *MainTB) Cleanup(f func())          { m.cleanups = append(m.cleanups, f) }
func (m *MainTB) Fatalf(f string, a ...any) { m.stop(fmt.Errorf(f, a...)) }
func (m *MainTB) Fatal(a ...any)            { m.stop(errors.New(fmt.Sprint(a...))) }
func (m *MainTB) Skipf(f string, a ...any)  { m.stop(errors.New("skipped: " + fmt.Sprintf(f, a...))) }
func (m *MainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "ixnstore-main-")
	if err != nil {
		m.Fatal(err)
	}
	m.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (m *MainTB) stop(err error) {
	m.err = err
	runtime.Goexit()
}
