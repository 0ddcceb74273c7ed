package krakendusage

import (
	"errors"
	"strconv"
	"strings"

	"github.com/luraproject/lura/v2/config"
)

// errNoConfigFlag: the process was not started with -c/--config.
var errNoConfigFlag = errors.New("no -c or --config flag in the process arguments")

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
		return "", errNoConfigFlag
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

// gatewayConfig parses the gateway's config file named in args with lura's
// parser, as the gateway itself did.
func gatewayConfig(args []string) (config.ServiceConfig, error) {
	file, err := configFileFromArgs(args)
	if err != nil {
		return config.ServiceConfig{}, err
	}
	cfg, err := config.NewParser().Parse(file)
	if err != nil {
		return config.ServiceConfig{}, err
	}
	cfg.Normalize()
	if p := portFromArgs(args); p != 0 {
		cfg.Port = p
	}
	return cfg, nil
}
