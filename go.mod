module github.com/ocpctl/ocpstore

go 1.26
