package main

import (
	"os"
	"runtime"
)

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "?"
	}
	return h
}

func goVersion() string { return runtime.Version() }
func numCPU() int       { return runtime.NumCPU() }
