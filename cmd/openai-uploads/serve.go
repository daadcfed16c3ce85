package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/conformance"
)

// How serve stops on SIGINT or SIGTERM: requests under way get serveShutdownGrace to finish,
// then every connection still open is closed; if the server has still not stopped
// serveCloseBound after that, serve exits anyway. Whatever the clients do, serve exits within
// serveShutdownGrace + serveCloseBound of the first signal. A second signal exits at once, as
// for every command (see main): the state on disk is written transactionally, so a restart on
// the same --storage-dir recovers from it as from a kill.
const (
	serveShutdownGrace = 5 * time.Second
	serveCloseBound    = 3 * time.Second
)

func (a *app) serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the reference server (OpenAI's upload semantics and limits, fault injection) on a local address",
		Description: "Prints the API's base URL on the first line of stdout, then a line per\n" +
			"request on stderr (time, method, path, status, body bytes in and out,\n" +
			"duration; never the key) unless --quiet. Any non-empty Bearer key is\n" +
			"accepted unless --require-key is set.\n" +
			"Uploads expire --upload-ttl after creation (the next sweep frees their\n" +
			"parts); finished Uploads are forgotten --retention after they finish;\n" +
			"expired Files are deleted. With --storage-dir, Uploads, parts and Files\n" +
			"survive a restart on the same directory.\n" +
			"SIGINT or SIGTERM stops it: requests under way get 5s, then connections\n" +
			"are closed; it exits within 8s whatever the clients do (a second signal\n" +
			"exits at once).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "host:port to listen on (port 0 picks a free one)"},
			&cli.StringFlag{Name: "require-key", Usage: "accept only this API key", HideDefault: true},
			&cli.StringFlag{Name: "storage", Value: "disk", Usage: "where bytes are kept: disk or memory"},
			&cli.StringFlag{Name: "storage-dir", Usage: "directory for disk storage (default: a temporary directory, removed on exit)"},
			&cli.StringFlag{Name: "memory-limit", Value: "1GiB", Usage: "cap of memory storage"},
			&cli.FloatFlag{Name: "fault-rate", Usage: "fraction of the --fault-ops requests that fail, 0..1"},
			&cli.StringFlag{Name: "fault-kinds", Value: "default", Usage: "comma-separated faults to inject: " + kindNames() + "; default (500, 503, 429, reset, lost-response) or all"},
			&cli.StringFlag{Name: "fault-ops", Value: "addUploadPart", Usage: "comma-separated operations (operationIds) faults go into: " + strings.Join(conformance.AllOperations, ", ") + ", or all"},
			&cli.Uint64Flag{Name: "fault-seed", Value: 1, Usage: "seed of the fault sequence"},
			&cli.Int64Flag{Name: "fault-limit", Usage: "inject at most this many faults (0: no limit)"},
			&cli.DurationFlag{Name: "fault-stall-for", Usage: "close a stalled connection after this long (0: hold it until the client leaves or serve stops)"},
			&cli.StringFlag{Name: "fault-slow-rate", Value: "256KiB", Usage: "bytes per second of slow-request and slow-response bodies"},
			&cli.DurationFlag{Name: "latency", Usage: "delay added before every request is handled"},
			&cli.StringFlag{Name: "bandwidth", Value: "0", Usage: "per-connection cap in bytes per second, each direction (e.g. 24MiB; 0: none)"},
			&cli.StringFlag{Name: "total-bandwidth", Value: "0", Usage: "cap of all connections together in bytes per second, each direction (e.g. 128MiB; 0: none)"},
			&cli.IntFlag{Name: "max-parts-in-flight", Usage: "answer 429 (retry-after-ms) to a part request beyond this many in flight (0: no limit)"},
			&cli.DurationFlag{Name: "parts-retry-after", Value: conformance.DefaultPartsRetryAfter, Usage: "the delay those 429s ask for"},
			&cli.DurationFlag{Name: "upload-ttl", Value: conformance.UploadTTL, Usage: "how long an Upload stays pending (at least 1s)"},
			&cli.DurationFlag{Name: "retention", Value: conformance.DefaultRetention, Usage: "how long a completed, cancelled or expired Upload is remembered"},
			&cli.DurationFlag{Name: "sweep-interval", Value: conformance.DefaultSweepInterval, Usage: "how often expired Uploads' parts and expired Files are freed"},
			&cli.BoolFlag{Name: "fsync", Usage: "with --storage-dir, flush each part and File to disk before answering (survives power loss; slower)"},
			&cli.BoolFlag{Name: "quiet", Usage: "no line per request (nor per sweep)"},
		},
		Action: a.serve,
	}
}

func (a *app) serve(ctx context.Context, cmd *cli.Command) error {
	opts, err := serverOptions(cmd)
	if err != nil {
		return err
	}
	if !cmd.Bool("quiet") {
		opts.RequestLog = func(r conformance.RequestRecord) { fmt.Fprintln(a.stderr, requestLine(time.Now(), r)) }
		opts.SweepLog = func(r conformance.SweepResult, err error) { fmt.Fprintln(a.stderr, sweepLine(r, err)) }
	}
	addr := cmd.String("addr")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return usagef("--addr %q is not host:port (for example 127.0.0.1:8080, or 127.0.0.1:0 for a free port)", addr)
	}
	srv, err := conformance.Listen(addr, opts)
	var opErr *net.OpError
	switch {
	case errors.Is(err, conformance.ErrStorageLocked):
		return fmt.Errorf("--storage-dir %s is in use by another reference server (its state.db is locked): stop the other server, or choose another directory", opts.StorageDir)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("--addr %s: the address is already in use (another server listens there); choose another port, or port 0 for a free one", addr)
	case errors.As(err, &opErr) && opErr.Op == "listen":
		return fmt.Errorf("--addr %s: cannot listen there: %v", addr, opErr.Err)
	case err != nil && opts.StorageDir != "": // the directory cannot be made, read or restored
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return fmt.Errorf("--storage-dir %s: %s", opts.StorageDir, fileProblem(err))
		}
		return fmt.Errorf("--storage-dir %s: %s", opts.StorageDir, strings.TrimPrefix(err.Error(), "conformance: "))
	case err != nil:
		return err
	}
	fmt.Fprintln(a.stdout, srv.URL)
	if opts.StorageDir != "" {
		fmt.Fprintln(a.stderr, restoredLine(opts.StorageDir, srv.Restored()))
	}
	fmt.Fprintf(a.stderr, "reference server listening on %s; stop with Ctrl-C\n", srv.Addr)
	<-ctx.Done()
	return a.stopServer(srv)
}

// stopServer shuts srv down within serveShutdownGrace + serveCloseBound, whatever its clients do.
func (a *app) stopServer(srv *conformance.Running) error {
	began := time.Now()
	fmt.Fprintf(a.stderr, "stopping: %d connections open; requests under way get %v (signal again to exit now)\n", srv.OpenConnections(), serveShutdownGrace)
	grace, cancel := context.WithTimeout(context.Background(), serveShutdownGrace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(grace) }()
	bound := time.NewTimer(serveShutdownGrace + serveCloseBound)
	defer bound.Stop()
	select {
	case err := <-done:
		forced := ""
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			forced, err = "; "+err.Error(), nil
		}
		st := srv.Stats()
		fmt.Fprintf(a.stderr, "reference server stopped in %v after %d requests%s\n", time.Since(began).Round(time.Millisecond), st.Requests, forced)
		return err
	case <-bound.C:
		fmt.Fprintf(a.stderr, "reference server stopped in %v: %d connections did not close, exiting anyway\n", time.Since(began).Round(time.Millisecond), srv.OpenConnections())
		return errors.New("shutdown: connections did not close in time")
	}
}

// requestLine is one line of the request log: time, method, path, status, body bytes in and
// out, duration, and why the transfer was cut off, if it was. The path never holds the key.
func requestLine(now time.Time, r conformance.RequestRecord) string {
	status := fmt.Sprint(r.Status)
	if r.Status == 0 {
		status = "-"
	}
	line := fmt.Sprintf("%s %s %s %s in=%d out=%d %v", now.Format("15:04:05.000"), r.Method, r.Path, status, r.BytesIn, r.BytesOut, r.Duration.Round(10*time.Microsecond))
	if r.Cut != "" {
		line += " cut: " + r.Cut
	}
	return line
}

// sweepLine reports one sweep that changed something.
func sweepLine(r conformance.SweepResult, err error) string {
	if err != nil {
		return "sweep failed: " + err.Error()
	}
	return fmt.Sprintf("sweep: %d Uploads expired (%d parts freed), %d Uploads forgotten, %d Files expired; %d bytes freed",
		r.UploadsExpired, r.PartsFreed, r.UploadsForgotten, r.FilesExpired, r.BytesFreed)
}

// restoredLine says what serve found in its storage directory.
func restoredLine(dir string, r conformance.Restored) string {
	if r == (conformance.Restored{}) {
		return fmt.Sprintf("storage %s: no state to restore; keeping it there", dir)
	}
	line := fmt.Sprintf("storage %s: restored %d Uploads (%d pending, %d parts) and %d Files, %d bytes", dir, r.Uploads, r.PendingUploads, r.Parts, r.Files, r.Bytes)
	if r.OrphansRemoved > 0 {
		line += fmt.Sprintf("; removed %d orphaned blob files (%d bytes)", r.OrphansRemoved, r.OrphanBytes)
	}
	if r.Lost > 0 {
		line += fmt.Sprintf("; dropped %d parts or Files whose bytes were missing", r.Lost)
	}
	return line
}

func serverOptions(cmd *cli.Command) (conformance.ServerOptions, error) {
	opts := conformance.ServerOptions{
		APIKey:     cmd.String("require-key"),
		StorageDir: cmd.String("storage-dir"),
		SyncWrites: cmd.Bool("fsync"),
		Latency:    cmd.Duration("latency"),
		Faults: conformance.Faults{Rate: cmd.Float("fault-rate"), Seed: cmd.Uint64("fault-seed"),
			Limit: cmd.Int64("fault-limit"), StallFor: cmd.Duration("fault-stall-for")},
	}
	switch cmd.String("storage") {
	case "disk":
		opts.Storage = conformance.DiskStorage
	case "memory":
		opts.Storage = conformance.MemoryStorage
		if opts.StorageDir != "" || opts.SyncWrites {
			return opts, usagef("--storage-dir and --fsync need --storage disk (memory storage keeps nothing)")
		}
	default:
		return opts, usagef("--storage must be disk or memory, not %q", cmd.String("storage"))
	}
	limit, err := parseSize(cmd.String("memory-limit"))
	if err != nil || limit <= 0 {
		return opts, usagef("--memory-limit: %v", orPositive(err))
	}
	opts.MemoryLimit = limit
	if r := opts.Faults.Rate; r < 0 || r > 1 {
		return opts, usagef("--fault-rate must be between 0 and 1, not %v", r)
	}
	switch kinds := cmd.String("fault-kinds"); kinds {
	case "default":
	case "all":
		opts.Faults.Kinds = conformance.AllFaultKinds
	default:
		for _, k := range strings.Split(kinds, ",") {
			kind := conformance.FaultKind(strings.TrimSpace(k))
			if !slices.Contains(conformance.AllFaultKinds, kind) {
				return opts, usagef("--fault-kinds: unknown fault %q (known: %s)", k, kindNames())
			}
			opts.Faults.Kinds = append(opts.Faults.Kinds, kind)
		}
	}
	if ops := cmd.String("fault-ops"); ops == "all" {
		opts.Faults.Operations = conformance.AllOperations
	} else {
		for _, op := range strings.Split(ops, ",") {
			op = strings.TrimSpace(op)
			if !slices.Contains(conformance.AllOperations, op) {
				return opts, usagef("--fault-ops: unknown operation %q (known: %s)", op, strings.Join(conformance.AllOperations, ", "))
			}
			opts.Faults.Operations = append(opts.Faults.Operations, op)
		}
	}
	if opts.Faults.Limit < 0 {
		return opts, usagef("--fault-limit must not be negative")
	}
	if opts.Faults.StallFor < 0 {
		return opts, usagef("--fault-stall-for must not be negative")
	}
	slow, err := parseSize(cmd.String("fault-slow-rate"))
	if err != nil || slow <= 0 {
		return opts, usagef("--fault-slow-rate: %v", orPositive(err))
	}
	opts.Faults.SlowRate = slow
	if opts.Latency < 0 {
		return opts, usagef("--latency must not be negative")
	}
	bw, err := parseSize(cmd.String("bandwidth"))
	if err != nil {
		return opts, usagef("--bandwidth: %v", err)
	}
	opts.Bandwidth = bw
	total, err := parseSize(cmd.String("total-bandwidth"))
	if err != nil {
		return opts, usagef("--total-bandwidth: %v", err)
	}
	opts.TotalBandwidth = total
	if n := cmd.Int("max-parts-in-flight"); n < 0 {
		return opts, usagef("--max-parts-in-flight must not be negative, not %d", n)
	}
	opts.MaxPartsInFlight = cmd.Int("max-parts-in-flight")
	if d := cmd.Duration("parts-retry-after"); d <= 0 {
		return opts, usagef("--parts-retry-after must be positive, not %v", d)
	}
	opts.PartsRetryAfter = cmd.Duration("parts-retry-after")
	if ttl := cmd.Duration("upload-ttl"); ttl < time.Second {
		return opts, usagef("--upload-ttl must be at least 1s (expires_at counts seconds), not %v", ttl)
	}
	opts.UploadTTL = cmd.Duration("upload-ttl")
	if keep := cmd.Duration("retention"); keep <= 0 {
		return opts, usagef("--retention must be positive, not %v", keep)
	}
	opts.Retention = cmd.Duration("retention")
	if every := cmd.Duration("sweep-interval"); every <= 0 {
		return opts, usagef("--sweep-interval must be positive, not %v", every)
	}
	opts.SweepInterval = cmd.Duration("sweep-interval")
	return opts, nil
}

func kindNames() string {
	names := make([]string, len(conformance.AllFaultKinds))
	for i, k := range conformance.AllFaultKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func orPositive(err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("it must be positive")
}
