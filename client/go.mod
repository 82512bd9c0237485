module github.com/refreshing/refreshing/client

go 1.26.0
