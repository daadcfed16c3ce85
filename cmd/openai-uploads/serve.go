package main

import (
	"context"
	"fmt"
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
			&cli.FloatFlag{Name: "fault-rate", Usage: "fraction of part requests that fail, 0..1"},
			&cli.StringFlag{Name: "fault-kinds", Value: "all", Usage: "comma-separated faults to inject: 500, 503, 429, reset, lost-response, or all"},
			&cli.Uint64Flag{Name: "fault-seed", Value: 1, Usage: "seed of the fault sequence"},
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
		Faults:     conformance.Faults{Rate: cmd.Float("fault-rate"), Seed: cmd.Uint64("fault-seed")},
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
	if kinds := cmd.String("fault-kinds"); kinds != "all" {
		for _, k := range strings.Split(kinds, ",") {
			kind := conformance.FaultKind(strings.TrimSpace(k))
			if !containsKind(kind) {
				return opts, usagef("--fault-kinds: unknown fault %q (known: 500, 503, 429, reset, lost-response)", k)
			}
			opts.Faults.Kinds = append(opts.Faults.Kinds, kind)
		}
	}
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

func containsKind(k conformance.FaultKind) bool {
	for _, known := range conformance.AllFaultKinds {
		if k == known {
			return true
		}
	}
	return false
}

func orPositive(err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("it must be positive")
}
