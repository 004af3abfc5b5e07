// Package ab is the live half of assay's third layer: an A/B test of a
// run's variants on real users. It assigns units (users, sessions) to
// arms by a salted hash that a product can call in-process or through
// assay's endpoints, and reads the events a product sends about what its
// users experienced: exposures, served turns and outcomes. Experiments
// are declared in a run spec's ab section ([eval.Experiment]); the
// statistics are the report stage's.
package ab

import "github.com/assay-eval/assay/pkg/eval"

// The experiment's declaration lives with the run spec that holds it.
type (
	Experiment = eval.Experiment
	Arm        = eval.Arm
	Metric     = eval.ABMetric
)

// NameRE is what an experiment's and an arm's names may be.
var NameRE = eval.ExperimentNameRE
