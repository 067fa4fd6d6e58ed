package config

import (
	"github.com/kptdev/krm-functions-sdk/go/fn"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// noPath is how field.Path writes no path: an error about an object as a whole.
const noPath = "<nil>"

// FieldResult is the result that reports e about obj. It is the one place a
// field.Error becomes a KRM result: the error's path is the result's field,
// its value the field's current value, and the message is the error as
// field.Error writes it (path, type, value, then the detail, which says how
// to fix it).
func FieldResult(obj *fn.KubeObject, severity fn.Severity, e *field.Error) *fn.Result {
	return fieldResult(obj, severity, e, e.Field)
}

// fieldResult is FieldResult with the path to report e at.
func fieldResult(obj *fn.KubeObject, severity fn.Severity, e *field.Error, path string) *fn.Result {
	if path == noPath || path == "" {
		return ObjectResult(obj, severity, obj.GetKind()+" "+obj.GetName()+": "+e.ErrorBody())
	}
	r := ObjectResult(obj, severity, path+": "+e.ErrorBody())
	r.Field = &fn.Field{Path: path, CurrentValue: currentValue(e)}
	return r
}

// currentValue is the value e reports, nil when it reports none.
func currentValue(e *field.Error) any {
	switch {
	case e.Type == field.ErrorTypeRequired, e.Type == field.ErrorTypeForbidden, e.Type == field.ErrorTypeTooLong:
		return nil // their BadValue is a placeholder, "" or "<value omitted>"
	case e.BadValue == (field.OmitValueType{}):
		return nil
	}
	return e.BadValue
}

// Result is the result that reports e about this config. A config read from a
// ConfigMap is reported at the data key that sets the field (data.scrapePort
// for spec.scrape.port): the user wrote that key, not the field.
func (s *Source) Result(severity fn.Severity, e *field.Error) *fn.Result {
	return fieldResult(s.Object, severity, e, s.path(e.Field))
}

// Results reports each error of errs about this config.
func (s *Source) Results(severity fn.Severity, errs field.ErrorList) fn.Results {
	results := make(fn.Results, 0, len(errs))
	for _, e := range errs {
		results = append(results, s.Result(severity, e))
	}
	return results
}

// Note is a finding about one field of this config that is no error, such as
// a value derived from the workload: the message is a sentence whose subject
// is the field's path, as Result writes it, and detail the rest ("taken from
// ..."); value, when not nil, is the field's value.
func (s *Source) Note(severity fn.Severity, fldPath *field.Path, value any, detail string) *fn.Result {
	path := s.path(fldPath.String())
	r := s.ObjectResult(severity, path+" "+detail)
	r.Field = &fn.Field{Path: path, CurrentValue: value}
	return r
}

// path is the path a result about the config field at path names.
func (s *Source) path(path string) string {
	if s.fromConfigMap {
		return v1alpha1.ConfigMapField(path)
	}
	return path
}
