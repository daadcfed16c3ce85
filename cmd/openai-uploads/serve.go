package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/openai-uploads/uploads/conformance"
)

// serveShutdownGrace is how long serve waits for requests under way when it is stopped.
const serveShutdownGrace = 5 * time.Second

func (a *app) serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the reference server (OpenAI's upload semantics and limits, fault injection) on a local address",
		Description: "Prints the API's base URL on the first line of stdout and stops cleanly on SIGINT or SIGTERM.\n" +
			"Any non-empty Bearer key is accepted unless --require-key is set.",
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
		},
		Action: a.serve,
	}
}

func (a *app) serve(ctx context.Context, cmd *cli.Command) error {
	opts, err := serverOptions(cmd)
	if err != nil {
		return err
	}
	srv, err := conformance.Listen(cmd.String("addr"), opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, srv.URL)
	fmt.Fprintf(a.stderr, "reference server listening on %s; stop with Ctrl-C\n", srv.Addr)
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), serveShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(a.stderr, "reference server stopped")
	return nil
}

func serverOptions(cmd *cli.Command) (conformance.ServerOptions, error) {
	opts := conformance.ServerOptions{
		APIKey:     cmd.String("require-key"),
		StorageDir: cmd.String("storage-dir"),
		Latency:    cmd.Duration("latency"),
		Faults: conformance.Faults{Rate: cmd.Float("fault-rate"), Seed: cmd.Uint64("fault-seed"),
			Limit: cmd.Int64("fault-limit"), StallFor: cmd.Duration("fault-stall-for")},
	}
	switch cmd.String("storage") {
	case "disk":
		opts.Storage = conformance.DiskStorage
	case "memory":
		opts.Storage = conformance.MemoryStorage
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
