package processor

import (
	"encoding/json"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// uniqueResults drops every result identical to an earlier one. kpt hands a
// Kptfile's configPath config to the function twice, as the functionConfig and
// as an item, so each problem of that config would otherwise be reported twice.
func uniqueResults(results fn.Results) fn.Results {
	if len(results) < 2 {
		return results
	}
	seen := make(map[string]bool, len(results))
	out := results[:0:0]
	for _, r := range results {
		key, err := json.Marshal(r)
		if err == nil && seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		out = append(out, r)
	}
	return out
}
