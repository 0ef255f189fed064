// Package units writes figures for people: byte counts, rates and
// durations, as the run summary of `pipe run` and the tables of `pipe
// bench` print them.
//
// It is a package of its own, rather than exported from pipeline, because
// figures are printed on both sides of the layering: by pipeline (the run
// report), by internal/sweep (the bench report, which has no other reason
// to depend on the runtime), and by packages that must not import pipeline
// at all (stages/* write sizes in their errors, observe writes rates on
// its progress lines). A leaf with no dependencies in the module serves
// all of them, and keeps the formats out of pipeline's public API.
//
// # Concurrency
//
// Every function is pure and safe for concurrent use.
package units
