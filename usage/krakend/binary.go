package krakend

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
)

// ErrNotGateway means an executable is not a lura-based gateway: it does
// not link lura v2 or v3 (a shell, su-exec, an entrypoint script).
var ErrNotGateway = errors.New("krakend-usage: not a lura gateway binary")

// Binary is what a process beside the gateway learns from the gateway's
// executable, read from the file without running it.
type Binary struct {
	// Version is the gateway version stamped into lura's
	// core.KrakendVersion at build time ("2.13.8"), as KrakenD's Makefile
	// does with -ldflags -X; "undefined", lura's own default, when the
	// build stamped none (or was built with -trimpath, which leaves the
	// flags out of the build info).
	Version string
	// Lura is the lura major the binary links: 2 or 3.
	Lura int
	// Libc is LibcGlibc, LibcMusl or LibcNone, from the binary's ELF
	// interpreter; empty when the file is not ELF.
	Libc string
}

// undefinedVersion is lura's core.KrakendVersion when nothing is stamped.
const undefinedVersion = "undefined"

// ReadBinary reads the Go build info and the ELF interpreter of the
// executable at path. It returns ErrNotGateway for a Go or non-Go program
// that does not link lura.
func ReadBinary(path string) (Binary, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return Binary{}, fmt.Errorf("%w: %s: %w", ErrNotGateway, path, err)
	}
	var b Binary
	for _, m := range append([]*debug.Module{&info.Main}, info.Deps...) {
		switch m.Path {
		case "github.com/luraproject/lura/v2":
			b.Lura = 2
		case "github.com/luraproject/lura/v3":
			b.Lura = 3
		}
	}
	if b.Lura == 0 {
		return Binary{}, fmt.Errorf("%w: %s links no lura module", ErrNotGateway, path)
	}
	b.Version = undefinedVersion
	for _, s := range info.Settings {
		if s.Key == "-ldflags" {
			if v := stampedVersion(s.Value, b.Lura); v != "" {
				b.Version = v
			}
		}
	}
	b.Libc = elfLibc(path)
	return b, nil
}

// stampedVersion finds -X github.com/luraproject/lura/vN/core.KrakendVersion=V
// in a build's -ldflags.
func stampedVersion(ldflags string, lura int) string {
	want := fmt.Sprintf("github.com/luraproject/lura/v%d/core.KrakendVersion=", lura)
	fields := strings.Fields(ldflags)
	for i, f := range fields {
		f = strings.Trim(f, `'"`)
		switch {
		case f == "-X" && i+1 < len(fields):
			if v, ok := strings.CutPrefix(strings.Trim(fields[i+1], `'"`), want); ok {
				return v
			}
		case strings.HasPrefix(f, "-X="):
			if v, ok := strings.CutPrefix(strings.TrimPrefix(f, "-X="), want); ok {
				return v
			}
		}
	}
	return ""
}

// elfLibc names the C library an ELF executable is loaded with, from its
// interpreter: ld-musl-*.so.1 for musl, ld-linux*.so.* for glibc; no
// interpreter is a static binary. It is "" for a file that is not ELF.
func elfLibc(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return ""
		}
		interp := strings.TrimRight(string(b), "\x00")
		if strings.Contains(interp, "musl") {
			return LibcMusl
		}
		return LibcGlibc
	}
	return LibcNone
}
