package v1alpha1

import (
	"fmt"

	"github.com/distribution/reference"
)

// validateAdapterImage checks spec.adapter.image the way the kubelet parses an
// image, and requires it to name one build: a tag other than latest, a digest, or
// both. The adapter is pulled with imagePullPolicy IfNotPresent, so a moving tag
// would run whichever build each node pulled first.
func validateAdapterImage(image string) []FieldError {
	const field = "spec.adapter.image"
	fail := func(format string, args ...any) []FieldError {
		return []FieldError{{Field: field, Value: image, Message: field + " " + fmt.Sprintf(format, args...)}}
	}
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return fail("(%q) is not a container image reference: %v; write REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST, e.g. %s", image, err, DefaultAdapterImage)
	}
	tagged, hasTag := ref.(reference.Tagged)
	_, hasDigest := ref.(reference.Digested)
	switch {
	case hasTag && tagged.Tag() == "latest" && !hasDigest:
		return fail("(%q) uses the tag latest, which names a different build over time; pin a version tag such as %s, or a digest (@sha256:...)", image, DefaultAdapterImage)
	case !hasTag && !hasDigest:
		return fail("(%q) has no tag or digest, so it means latest; pin a version tag such as %s, or a digest (@sha256:...)", image, DefaultAdapterImage)
	}
	return nil
}
