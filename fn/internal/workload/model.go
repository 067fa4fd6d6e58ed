package workload

import "strings"

// ServedModels returns the model names the vLLM container serves under, as its
// /v1/models lists them and as the model_name label of its metrics holds the
// first: the values of --served-model-name, else the model (--model, or the
// word after vllm serve). vLLM's engine arguments: "If not specified, the model
// name will be the same as the --model argument" (docs.vllm.ai, engine
// arguments, --served-model-name). Nil when no model can be read.
func (w *Workload) ServedModels() []string {
	c := w.VLLMContainer()
	if c == nil {
		return nil
	}
	words := commandWords(c)
	if names := flagValues(words, "--served-model-name"); len(names) > 0 {
		return names
	}
	if names := flagValues(words, "--model"); len(names) > 0 {
		return names[:1]
	}
	for i, word := range words {
		if word == "serve" && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
			return []string{strings.Trim(words[i+1], `"'`)}
		}
	}
	return nil
}

// flagValues returns the values of the first occurrence of a flag: the value
// after '=', or the words that follow it up to the next flag (vLLM's
// --served-model-name takes several).
func flagValues(words []string, flag string) []string {
	for i, word := range words {
		if v, ok := strings.CutPrefix(word, flag+"="); ok {
			return []string{strings.Trim(v, `"'`)}
		}
		if word != flag {
			continue
		}
		var values []string
		for _, v := range words[i+1:] {
			if strings.HasPrefix(v, "-") {
				break
			}
			values = append(values, strings.Trim(v, `"'`))
		}
		return values
	}
	return nil
}
