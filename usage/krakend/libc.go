package krakend

import (
	"bufio"
	"os"
	"strings"
	"sync"
)

// Libc returns the C library of this process: LibcMusl or LibcGlibc when
// one is mapped into it (read from /proc/self/maps, so it tells the host,
// whichever libc a plugin was built for), LibcNone for a statically linked
// binary or a system without /proc.
func Libc() string {
	libcOnce.Do(func() { libc = libcFromMaps("/proc/self/maps") })
	return libc
}

var (
	libcOnce sync.Once
	libc     string
)

func libcFromMaps(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return LibcNone
	}
	defer f.Close()
	found := LibcNone
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		base := fields[len(fields)-1]
		if i := strings.LastIndexByte(base, '/'); i >= 0 {
			base = base[i+1:]
		}
		switch {
		case strings.HasPrefix(base, "ld-musl-"), strings.HasPrefix(base, "libc.musl-"):
			return LibcMusl
		case strings.HasPrefix(base, "libc.so.6"), strings.HasPrefix(base, "libc-2."), strings.HasPrefix(base, "ld-linux"):
			found = LibcGlibc
		}
	}
	return found
}
