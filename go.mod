module github.com/ocpctl/ocpstore

go 1.26.0

require (
	github.com/Masterminds/squirrel v1.5.4
	github.com/anishathalye/porcupine v1.3.1
	github.com/jackc/pgx/v5 v5.10.0
	github.com/pashagolub/pgxmock/v4 v4.9.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.2 // indirect
	github.com/lann/builder v0.0.0-20180802200727-47ae307949d0 // indirect
	github.com/lann/ps v0.0.0-20150810152359-62de8c46ede0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
