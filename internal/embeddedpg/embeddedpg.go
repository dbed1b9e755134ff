// Package embeddedpg runs a PostgreSQL server for ixnstore when no database URL is given: the
// machine's own PostgreSQL binaries on a data directory that outlives the process, so state
// survives restarts. Where the machine has no binaries it falls back to
// fergusstrange/embedded-postgres, which downloads them.
//
// PostgreSQL refuses to run as root. Started as root, the server runs as the unprivileged
// user "postgres" (or "nobody"), which then owns the data directory.
package embeddedpg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	embeddedpostgres "github.com/fergusstrange/embedded-postgres"
	"github.com/jackc/pgx/v5"
)

// Config says where the server keeps its data and where it listens.
type Config struct {
	DataDir string // created if missing
	Port    int    // on 127.0.0.1
	Logger  *slog.Logger
}

const (
	superuser = "postgres"
	dbName    = "ixnstore"
)

// Server is a running embedded PostgreSQL.
type Server struct {
	cfg      Config
	binDir   string
	cred     *syscall.Credential
	fallback *embeddedpostgres.EmbeddedPostgres
	reused   bool
}

// Reused says the server was running already when Start was called (another process's).
func (s *Server) Reused() bool { return s.reused }

// URL is the connection string of the ixnstore database on the server.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.cfg.Port, dbName)
}

// Start starts the server, or finds it already running on the same data directory (left
// behind by a process that was killed), and makes sure the ixnstore database exists.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	cfg.DataDir = dir
	s := &Server{cfg: cfg}

	s.binDir = findBinDir()
	if s.binDir == "" {
		if os.Geteuid() == 0 {
			return nil, errors.New("no PostgreSQL binaries found (looked for pg_ctl in PATH and /usr/lib/postgresql/*/bin): " +
				"install them (Debian: apt-get install postgresql) or pass --database-url")
		}
		if err := s.startFallback(); err != nil {
			return nil, err
		}
	} else if err := s.startLocal(ctx); err != nil {
		return nil, err
	}
	if err := s.ensureDatabase(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) startLocal(ctx context.Context) error {
	log := s.cfg.Logger
	if os.Geteuid() == 0 {
		cred, name, err := unprivilegedUser()
		if err != nil {
			return err
		}
		s.cred = cred
		log.Info("running as root: the embedded PostgreSQL runs as an unprivileged user", "user", name)
		if blocked := unreachable(filepath.Dir(s.cfg.DataDir), cred); blocked != "" {
			// A clone under /root, or a 0700 temporary folder: the server's user cannot get
			// to the data there. Keep it where that user can, the same place for the same
			// --data-dir every time, and say where.
			moved := reachableDataDir(s.cfg.DataDir)
			// The directory named stays, root's: what is not PostgreSQL's data (the admin
			// token) is kept in it as usual.
			if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
				return fmt.Errorf("creating the data directory: %w", err)
			}
			log.Warn("the PostgreSQL user cannot reach the data directory; its data is kept elsewhere",
				"user", name, "data_dir", s.cfg.DataDir, "blocked_at", blocked, "kept_in", moved)
			s.cfg.DataDir = moved
		}
	}
	if s.cred != nil {
		// Its parents, made here by root, are left open to pass through (0755 less umask).
		if err := os.MkdirAll(filepath.Dir(s.cfg.DataDir), 0o755); err != nil {
			return fmt.Errorf("creating the data directory's parent: %w", err)
		}
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	if s.cred != nil {
		if err := os.Chown(s.cfg.DataDir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("handing the data directory to the PostgreSQL user: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.cfg.DataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		log.Info("initialising the embedded PostgreSQL data directory", "dir", s.cfg.DataDir, "bin", s.binDir)
		if out, err := s.run(ctx, "initdb", "-D", s.cfg.DataDir, "-U", superuser, "-A", "trust",
			"-E", "UTF8", "--no-locale", "--no-instructions"); err != nil {
			return fmt.Errorf("initdb failed: %w\n%s%s", err, out, s.accessHint())
		}
	}
	if _, err := s.run(ctx, "pg_ctl", "status", "-D", s.cfg.DataDir); err == nil {
		s.reused = true
		log.Warn("the embedded PostgreSQL was already running on this data directory; using it", "dir", s.cfg.DataDir)
		return nil
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=''", s.cfg.Port)
	logFile := filepath.Join(s.cfg.DataDir, "postgresql.log")
	if out, err := s.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", s.cfg.DataDir, "-l", logFile, "-o", opts); err != nil {
		return fmt.Errorf("starting the embedded PostgreSQL failed: %w\n%s(its log: %s)", err, out, logFile)
	}
	log.Info("embedded PostgreSQL started", "dir", s.cfg.DataDir, "port", s.cfg.Port)
	return nil
}

func (s *Server) startFallback() error {
	s.cfg.Logger.Info("no PostgreSQL binaries on this machine: fetching them with embedded-postgres", "dir", s.cfg.DataDir)
	s.fallback = embeddedpostgres.NewDatabase(embeddedpostgres.DefaultConfig().
		Port(uint32(s.cfg.Port)).
		Username(superuser).Password(superuser).
		Database(dbName).
		DataPath(s.cfg.DataDir).
		RuntimePath(filepath.Join(s.cfg.DataDir, "..", filepath.Base(s.cfg.DataDir)+"-runtime")).
		Logger(os.Stderr))
	if err := s.fallback.Start(); err != nil {
		return fmt.Errorf("starting embedded-postgres: %w", err)
	}
	return nil
}

// Stop stops a server this process started; one found running is stopped as well, since this
// process now owns it.
func (s *Server) Stop() error {
	if s.fallback != nil {
		return s.fallback.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := s.run(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", s.cfg.DataDir); err != nil {
		return fmt.Errorf("stopping the embedded PostgreSQL: %w\n%s", err, out)
	}
	s.cfg.Logger.Info("embedded PostgreSQL stopped", "dir", s.cfg.DataDir)
	return nil
}

func (s *Server) ensureDatabase(ctx context.Context) error {
	url := strings.Replace(s.URL(), "/"+dbName+"?", "/postgres?", 1)
	if s.fallback != nil {
		return nil // embedded-postgres creates the database itself
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connecting to the embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", dbName).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
			return fmt.Errorf("creating database %s: %w", dbName, err)
		}
	}
	return nil
}

// run runs one PostgreSQL program, as the unprivileged user when there is one.
func (s *Server) run(ctx context.Context, program string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, program), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = s.cfg.DataDir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Dir = "/"
		cmd.Env = append(os.Environ(), "HOME=/")
	}
	err := cmd.Run()
	return out.String(), err
}

func (s *Server) accessHint() string {
	if s.cred == nil {
		return ""
	}
	return fmt.Sprintf("\nPostgreSQL runs as uid %d here because this process is root: that user must be able to "+
		"reach %s (every parent directory searchable). Pass --data-dir in a place it can reach (such as "+
		"/var/tmp/ixnstore), run ixnstore as a normal user, or pass --database-url.", s.cred.Uid, s.cfg.DataDir)
}

// unreachable is the first directory on the way to dir (dir included) that cred's user may
// not pass through; "" when it can reach dir. Only the user's own group is considered, not
// its supplementary ones: at worst the data moves when it need not have.
func unreachable(dir string, cred *syscall.Credential) string {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				perm := st.Mode().Perm()
				var pass bool
				switch {
				case sys.Uid == cred.Uid:
					pass = perm&0o100 != 0
				case sys.Gid == cred.Gid:
					pass = perm&0o010 != 0
				default:
					pass = perm&0o001 != 0
				}
				if !pass {
					return d
				}
			}
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

// movedDataRoot is where the data of a --data-dir the PostgreSQL user cannot reach is kept:
// /var/tmp outlives reboots, unlike /tmp on many systems, and every user may reach it.
var movedDataRoot = "/var/tmp/ixnstore-embedded"

// reachableDataDir is the data directory kept under movedDataRoot for dataDir: named after
// it, and the same for the same path every time.
func reachableDataDir(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	name := strings.Trim(strings.ReplaceAll(dataDir, string(filepath.Separator), "-"), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return filepath.Join(movedDataRoot, name+"-"+hex.EncodeToString(sum[:4]))
}

func unprivilegedUser() (*syscall.Credential, string, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, name, nil
	}
	return nil, "", errors.New("running as root, and PostgreSQL refuses to run as root, but no unprivileged user " +
		"(postgres or nobody) exists to run it: create one (useradd postgres), run ixnstore as a normal user, " +
		"or pass --database-url")
}

// findBinDir finds a directory holding pg_ctl, initdb and postgres: IXNSTORE_PG_BIN, beside
// pg_ctl on PATH, or the newest /usr/lib/postgresql/<version>/bin.
func findBinDir() string {
	var candidates []string
	if d := os.Getenv("IXNSTORE_PG_BIN"); d != "" {
		candidates = append(candidates, d)
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return versionOf(versions[i]) > versionOf(versions[j]) })
	candidates = append(candidates, versions...)
	for _, d := range candidates {
		if hasAll(d, "pg_ctl", "initdb", "postgres") {
			return d
		}
	}
	return ""
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func hasAll(dir string, programs ...string) bool {
	for _, p := range programs {
		if st, err := os.Stat(filepath.Join(dir, p)); err != nil || st.IsDir() {
			return false
		}
	}
	return true
}
