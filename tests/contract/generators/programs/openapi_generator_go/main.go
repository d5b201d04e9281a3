// What a user of openapi-generator's `go` client writes: Serbia, the chart, the counts and a
// 404, printed as one JSON object (tests/contract/generators/test_openapi_generator.py).
//
// Argument: the server's base URL.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	cp "github.com/country-positions/go-client"
)

func values(country cp.CountryPositions) []string {
	out := []string{}
	for _, position := range country.Positions {
		out = append(out, string(position.Value))
	}
	return out
}

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func main() {
	config := cp.NewConfiguration()
	config.Servers = cp.ServerConfigurations{{URL: os.Args[1]}}
	client := cp.NewAPIClient(config)
	ctx := context.Background()

	serbia, _, err := client.PositionsAPI.ListCountryPositions(ctx, "RS").Execute()
	must(err, "listCountryPositions")
	serbiaValues := map[string]string{}
	for _, position := range serbia.Positions {
		serbiaValues[string(position.Category)] = string(position.Value)
	}

	chart, _, err := client.PositionsAPI.ListPositions(ctx).Limit(100).Execute()
	must(err, "listPositions")
	rows := [][]any{}
	for _, row := range chart.Items {
		rows = append(rows, []any{row.Country.Code, values(row)})
	}

	stats, _, err := client.PositionsAPI.GetStats(ctx).Execute()
	must(err, "getStats")
	counts := map[string]map[string]int32{}
	for _, entry := range stats.Categories {
		counts[string(entry.Category)] = map[string]int32{
			"yes":        entry.Counts.Yes,
			"no":         entry.Counts.No,
			"decreasing": entry.Counts.Decreasing,
			"unknown":    entry.Counts.Unknown,
		}
	}

	_, _, err = client.CountriesAPI.GetCountry(ctx, "ZZ").Execute()
	var apiError *cp.GenericOpenAPIError
	if !errors.As(err, &apiError) {
		must(fmt.Errorf("not a GenericOpenAPIError: %v", err), "getCountry ZZ")
	}
	problem, ok := apiError.Model().(cp.Problem)
	if !ok {
		must(fmt.Errorf("model is %T", apiError.Model()), "getCountry ZZ")
	}

	out, err := json.Marshal(map[string]any{
		"serbia": map[string]any{"country": serbia.Country.Name, "values": serbiaValues},
		"chart":  map[string]any{"total": chart.Total, "rows": rows},
		"stats":  map[string]any{"countries": stats.Countries, "counts": counts},
		"not_found": map[string]any{
			"error":  fmt.Sprintf("%T", apiError),
			"model":  fmt.Sprintf("%T", problem),
			"status": problem.Status,
			"type":   problem.Type,
		},
	})
	must(err, "json")
	fmt.Println(string(out))
}
