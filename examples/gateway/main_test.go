package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestHelpPrintsTheFlagsAndSucceeds(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out); err != nil {
		t.Fatalf("gateway -h: %v", err)
	}
	for _, want := range []string{"usage: gateway", "-c string", "-p int"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("gateway -h prints no %q:\n%s", want, out.String())
		}
	}
}

// gateway version answers without a config file: the test runs in an empty
// directory, where ./krakend.json does not exist.
func TestVersionReadsNoConfig(t *testing.T) {
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out); err != nil {
		t.Fatalf("gateway version: %v", err)
	}
	if !strings.Contains(out.String(), "example gateway: KrakenD version ") {
		t.Errorf("gateway version printed %q", out.String())
	}
}

func TestUnknownFlagIsAnError(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-nope"}, &out); err == nil {
		t.Error("gateway -nope succeeded")
	}
}
