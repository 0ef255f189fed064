package model

// ReadColumns returns the input columns the stage's model reads: those its
// inputs bind and its pooled outputs' masks. `pipe serve` asks a model
// stage's own endpoint for these alone (see [stages.ColumnReader]).
func (s *Stage) ReadColumns() []string { return s.plan.reads }
