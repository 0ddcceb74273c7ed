module github.com/krakend-usage/krakend-usage

go 1.25
