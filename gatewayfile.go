package krakendusage

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	flexibleconfig "github.com/krakend/krakend-flexibleconfig/v2"
	koanf "github.com/krakend/krakend-koanf"
	"github.com/luraproject/lura/v2/config"
)

// ErrNoConfigFlag is returned by [ReadGatewayConfig] when the process
// arguments have no -c/--config flag: there is no config file to read.
var ErrNoConfigFlag = errors.New("no -c or --config flag in the process arguments")

// configFileFromArgs finds the gateway's config file the way `krakend run`
// takes it: -c FILE, -c=FILE, --config FILE or --config=FILE (Go's flag
// package also accepts -config). The last one wins, as with flag.
func configFileFromArgs(args []string) (string, error) {
	file := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		switch a {
		case "-c", "--c", "-config", "--config":
			if i+1 < len(args) {
				file = args[i+1]
				i++
			}
			continue
		}
		for _, p := range []string{"-c=", "--c=", "-config=", "--config="} {
			if strings.HasPrefix(a, p) {
				file = strings.TrimPrefix(a, p)
			}
		}
	}
	if file == "" {
		return "", ErrNoConfigFlag
	}
	return file, nil
}

// portFromArgs returns the -p/--port override of `krakend run`, 0 if none.
func portFromArgs(args []string) int {
	port := 0
	for i := 0; i < len(args); i++ {
		a, v := args[i], ""
		switch {
		case a == "--":
			return port
		case a == "-p" || a == "--port" || a == "-port":
			if i+1 < len(args) {
				v = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "-p="), strings.HasPrefix(a, "--port="), strings.HasPrefix(a, "-port="):
			v = a[strings.Index(a, "=")+1:]
		default:
			continue
		}
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 65536 {
			port = n
		}
	}
	return port
}

// The environment variables of KrakenD CE's flexible configuration.
const (
	fcEnable    = "FC_ENABLE"
	fcSettings  = "FC_SETTINGS"
	fcPartials  = "FC_PARTIALS"
	fcTemplates = "FC_TEMPLATES"
	fcOut       = "FC_OUT"
)

// Config versions the parser reads. lura v2 and KrakenD 2.x read
// configVersion3 only (config.ConfigVersion); one stored version of the
// KrakenD CE 3.0.0 image writes configVersion4 as its default config, so
// a config written for 3.0 may carry either.
const (
	configVersion3 = config.ConfigVersion
	configVersion4 = 4
)

// NewConfigParser returns the config parser that KrakenD CE's main builds:
// krakend-koanf (JSON, YAML or TOML by the file's extension, then the
// KRAKEND_* environment overrides such as KRAKEND_PORT), wrapped in
// flexible configuration when FC_ENABLE is set (FC_SETTINGS, FC_PARTIALS,
// FC_TEMPLATES, FC_OUT). getenv reads those variables; nil means
// os.Getenv. A gateway that parses its config with it and the plugin
// that re-reads that config agree on every value, hence on the IDs.
//
// It reads `"version": 3` and `"version": 4` alike, and keeps the version
// as written in the parsed config (so it is part of the digest); any
// other version is refused with an error naming the field.
func NewConfigParser(getenv func(string) string) config.Parser {
	return newConfigParser(getenv, true)
}

// newConfigParser is NewConfigParser; with writeOut false it ignores
// FC_OUT, so that the plugin re-reading the config never rewrites the
// file the gateway itself rendered.
func newConfigParser(getenv func(string) string, writeOut bool) config.Parser {
	if getenv == nil {
		getenv = os.Getenv
	}
	var p config.Parser = versionParser{koanf.New()}
	if getenv(fcEnable) == "" {
		return p
	}
	fc := flexibleconfig.Config{
		Parser:    p,
		Settings:  getenv(fcSettings),
		Partials:  getenv(fcPartials),
		Templates: getenv(fcTemplates),
	}
	if writeOut {
		fc.Path = getenv(fcOut)
	}
	return flexibleconfig.NewTemplateParser(fc)
}

// versionParser parses with krakend-koanf, then runs lura's Init (which
// refuses any version but configVersion3) on a config of either accepted
// version, and gives the version back as written.
type versionParser struct {
	p interface {
		ParseWithoutInit(file string) (config.ServiceConfig, error)
	}
}

func (v versionParser) Parse(file string) (config.ServiceConfig, error) {
	cfg, err := v.p.ParseWithoutInit(file)
	if err != nil {
		return cfg, err
	}
	written := cfg.Version
	switch written {
	case configVersion3:
	case configVersion4:
		cfg.Version = configVersion3
	default:
		return cfg, fmt.Errorf("'%s': \"version\" is %d, want %d or %d", file, written, configVersion3, configVersion4)
	}
	err = cfg.Init()
	cfg.Version = written
	if err != nil {
		return cfg, config.CheckErr(err, file)
	}
	return cfg, nil
}

// ReadGatewayConfig parses the gateway's config file named in args (the
// gateway process's arguments: -c FILE, -c=FILE, --config FILE or
// --config=FILE, relative to the working directory) the way KrakenD CE
// did when it started (see [NewConfigParser]), then applies what
// `krakend run` applies after parsing: the alias normalisation and the
// -p/--port flag. getenv reads the flexible-configuration variables (FC_*;
// nil means os.Getenv); FC_OUT is ignored, so the file the gateway
// rendered is never rewritten. The KRAKEND_* overrides are read from the
// process environment by krakend-koanf. Without a -c/--config flag in
// args it returns [ErrNoConfigFlag].
func ReadGatewayConfig(args []string, getenv func(string) string) (config.ServiceConfig, error) {
	file, err := configFileFromArgs(args)
	if err != nil {
		return config.ServiceConfig{}, err
	}
	cfg, err := newConfigParser(getenv, false).Parse(file)
	if err != nil {
		return config.ServiceConfig{}, fmt.Errorf("parsing %s: %w", file, err)
	}
	cfg.Normalize()
	if p := portFromArgs(args); p != 0 {
		cfg.Port = p
	}
	return cfg, nil
}
