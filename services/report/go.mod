module github.com/assay-eval/assay/services/report

go 1.26.8

require github.com/assay-eval/assay/pkg v0.0.0

require (
	github.com/apache/arrow-go/v18 v18.8.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
)

replace github.com/assay-eval/assay/pkg => ../../pkg
