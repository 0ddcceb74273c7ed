// Command addrelease adds a KrakenD CE release to the plugin's targets, or
// refreshes one: given that release's go.sum and Go version, it writes
// targets/<release>.mod and targets/<release>.sum, every module the plugin
// shares with that KrakenD at KrakenD's version, copies the go.sum to
// testdata/krakend-ce-v<release>.go.sum and names the release in
// targets/releases. It is a module of its own (it requires golang.org/x/mod,
// which the plugin's module must not); build it, then run it from the
// repository root:
//
//	go build -C internal/cmd/addrelease -o "$PWD/build/addrelease" .
//	build/addrelease -release 2.13.8 -go 1.25.12 -sum ../shared/krakend-ce/src/krakend-ce-v2.13.8.go.sum
//
// It starts from the root go.mod, so a requirement added there reaches
// every target when the releases are refreshed (make targets). It fails,
// writing nothing, when a module cannot be aligned: when something the
// plugin needs requires a module above the version KrakenD links (KrakenD
// 2.11 and older parse config with krakend-viper, so our krakend-koanf
// pulls lura and fsnotify above theirs). The go command runs with the
// release's Go (GOTOOLCHAIN) and the environment's GOPROXY.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "addrelease:", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError string

func (e usageError) Error() string { return string(e) }

var (
	releaseSyntax = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	goSyntax      = regexp.MustCompile(`^1\.[0-9]+(\.[0-9]+)?$`)
)

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("addrelease", flag.ContinueOnError)
	release := fs.String("release", "", "the KrakenD CE release, e.g. 2.13.8")
	goVersion := fs.String("go", "", "the Go release it is built with (its Makefile's GOLANG_VERSION), e.g. 1.25.12")
	sumFile := fs.String("sum", "", "that release's go.sum")
	var flags strings.Builder
	fs.SetOutput(&flags)
	fs.PrintDefaults()
	usage := "usage: addrelease -release 2.13.8 -go 1.25.12 -sum krakend-ce/go.sum\n" + strings.TrimRight(flags.String(), "\n")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	if err != nil || fs.NArg() != 0 {
		return usageError(usage)
	}
	switch {
	case !releaseSyntax.MatchString(*release):
		return usageError(fmt.Sprintf("-release %q: want a KrakenD release such as 2.13.8\n%s", *release, usage))
	case !goSyntax.MatchString(*goVersion):
		return usageError(fmt.Sprintf("-go %q: want a Go release such as 1.25.12\n%s", *goVersion, usage))
	case *sumFile == "":
		return usageError(usage)
	}
	if _, err := os.Stat("targets/releases"); err != nil {
		return fmt.Errorf("run it from the repository root: %w", err)
	}
	krakendSum, err := os.ReadFile(*sumFile)
	if err != nil {
		return err
	}
	krakend := linked(parseSum(krakendSum))
	lura := krakend["github.com/luraproject/lura/v2"]
	if lura == "" {
		return fmt.Errorf("%s pins no github.com/luraproject/lura/v2: is it a KrakenD CE 2.x go.sum?", *sumFile)
	}

	t := &target{release: *release, goVersion: *goVersion, krakend: krakend}
	t.mod = filepath.Join("targets", *release+".new.mod")
	defer os.Remove(t.mod)
	defer os.Remove(t.sumPath())
	moved, err := t.align(krakendSum)
	if err != nil {
		return err
	}

	if err := copyFile(*sumFile, filepath.Join("testdata", "krakend-ce-v"+*release+".go.sum")); err != nil {
		return err
	}
	final := filepath.Join("targets", *release+".mod")
	if err := os.Rename(t.sumPath(), strings.TrimSuffix(final, ".mod")+".sum"); err != nil {
		return err
	}
	if err := os.Rename(t.mod, final); err != nil {
		return err
	}
	if err := nameRelease("targets/releases", *release, *goVersion, lura); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "KrakenD CE %s (Go %s, lura %s): %s and its .sum written", *release, *goVersion, lura, final)
	if len(moved) > 0 {
		fmt.Fprintf(stdout, "; at KrakenD's versions, unlike go.mod: %s", strings.Join(moved, ", "))
	}
	fmt.Fprintln(stdout)
	return nil
}

func copyFile(from, to string) error {
	if a, err := filepath.Abs(from); err == nil {
		if b, err := filepath.Abs(to); err == nil && a == b {
			return nil
		}
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
