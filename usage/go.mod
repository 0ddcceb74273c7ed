module github.com/krakend-usage/krakend-usage/usage

go 1.25.0
