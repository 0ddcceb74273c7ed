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
		path := fields[len(fields)-1]
		base := path[strings.LastIndexByte(path, '/')+1:]
		libcLike := strings.HasPrefix(base, "libc.") || strings.HasPrefix(base, "libc-") || strings.HasPrefix(base, "ld-")
		switch {
		// Alpine maps /lib/ld-musl-x86_64.so.1; Debian's musl maps it
		// through its symlink, /usr/lib/x86_64-linux-musl/libc.so.
		case libcLike && strings.Contains(path, "musl"):
			return LibcMusl
		case strings.HasPrefix(base, "libc.so.6"), strings.HasPrefix(base, "libc-2."), strings.HasPrefix(base, "ld-linux"):
			found = LibcGlibc
		}
	}
	return found
}
