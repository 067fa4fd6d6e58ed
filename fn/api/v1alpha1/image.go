package v1alpha1

import (
	"fmt"
	"regexp"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// imageReference is the container image reference grammar of
// github.com/distribution/reference (what the kubelet parses): an optional
// registry host, lower-case path components, an optional tag and an optional
// digest. It is compiled on first use: most runs never set spec.adapter.image,
// and a process start should not pay for it. distribution/reference compiles
// its grammar at every process start: linked in place of these lines, it costs
// a generator run 0.5 ms CPU and 2.7M instructions (25.5M to 28.1M), 2.02x
// bench/noop-typed's CPU instead of 1.93x (medians of 500 paired runs), past
// the 2x make bench allows.
var imageReference = sync.OnceValue(func() *regexp.Regexp {
	const (
		host      = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		domain    = host + `(?:\.` + host + `)*(?::[0-9]+)?`
		component = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
		tag       = `[\w][\w.-]{0,127}`
		digest    = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^(?:(` + domain + `)/)?(` + component + `(?:/` + component + `)*)(?::(` + tag + `))?(?:@(` + digest + `))?$`)
})

// validateAdapterImage checks spec.adapter.image against the kubelet's reference
// syntax, and requires it to name one build: a tag other than latest, a digest,
// or both. The adapter is pulled with imagePullPolicy IfNotPresent, so a moving
// tag would run whichever build each node pulled first.
func validateAdapterImage(fldPath *field.Path, image string) field.ErrorList {
	if image == DefaultAdapterImage {
		return nil
	}
	m := imageReference().FindStringSubmatch(image)
	if m == nil || len(image) > 255+128+80 {
		return field.ErrorList{field.Invalid(fldPath, image, fmt.Sprintf(
			"is not a container image reference; write REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST, e.g. %s", DefaultAdapterImage))}
	}
	tag, digest := m[3], m[4]
	switch {
	case tag == "latest" && digest == "":
		return field.ErrorList{field.Invalid(fldPath, image, fmt.Sprintf(
			"uses the tag latest, which names a different build over time; pin a version tag such as %s, or a digest (@sha256:...)", DefaultAdapterImage))}
	case tag == "" && digest == "":
		return field.ErrorList{field.Invalid(fldPath, image, fmt.Sprintf(
			"has no tag or digest, so it means latest; pin a version tag such as %s, or a digest (@sha256:...)", DefaultAdapterImage))}
	}
	return nil
}
