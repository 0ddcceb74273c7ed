module github.com/krakend-usage/krakend-usage/internal/cmd/addrelease

go 1.25.3

require golang.org/x/mod v0.32.0
