package krakend

import (
	"errors"
	"os"
	"testing"
)

func TestStampedVersion(t *testing.T) {
	for _, tc := range []struct {
		ldflags string
		lura    int
		want    string
	}{
		// KrakenD CE 2.13.8's Makefile, as recorded in its build info.
		{"-X github.com/krakend/krakend-ce/v2/pkg.Version=2.13.8 -X github.com/luraproject/lura/v2/core.KrakendVersion=2.13.8 -X github.com/krakend/krakend-ce/v2/pkg.GlibcVersion=GLIBC-2.31_GCC-10.2.1", 2, "2.13.8"},
		{"-X 'github.com/luraproject/lura/v3/core.KrakendVersion=3.0.0'", 3, "3.0.0"},
		{"-X=github.com/luraproject/lura/v2/core.KrakendVersion=2.12.1", 2, "2.12.1"},
		{"-X github.com/luraproject/lura/v2/core.KrakendVersion=2.13.8", 3, ""},
		{"-s -w", 2, ""},
	} {
		if got := stampedVersion(tc.ldflags, tc.lura); got != tc.want {
			t.Errorf("stampedVersion(%q, %d) = %q, want %q", tc.ldflags, tc.lura, got, tc.want)
		}
	}
}

// A program that does not link lura is not a gateway: this test binary,
// a shell script, a missing file.
func TestReadBinaryRefusesOtherPrograms(t *testing.T) {
	script := t.TempDir() + "/entrypoint.sh"
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{os.Args[0], script, "/nonexistent/krakend"} {
		if _, err := ReadBinary(path); !errors.Is(err, ErrNotGateway) {
			t.Errorf("ReadBinary(%s): %v, want ErrNotGateway", path, err)
		}
	}
}

func TestELFLibc(t *testing.T) {
	if got := elfLibc(os.Args[0]); !KnownLibc(got) {
		t.Errorf("elfLibc of this test binary: %q", got)
	}
	if got := elfLibc("/etc/hostname"); got != "" {
		t.Errorf("elfLibc of a text file: %q, want empty", got)
	}
}
