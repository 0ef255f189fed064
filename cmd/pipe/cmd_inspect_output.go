package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/source"
)

// folderReport is what `pipe inspect OUTPUT_FOLDER` says about a folder a
// parquet_sink wrote; --json prints it as it is.
type folderReport struct {
	Path string `json:"path"`
	// Complete is set when `_SUCCESS` is there, the manifest reads and its
	// files are present with their sizes; Why says why not.
	Complete bool     `json:"complete"`
	Why      []string `json:"why_not_complete"`
	// InProgress lists the runs holding the folder's lock now.
	InProgress []output.LockHolder `json:"in_progress"`
	Job        string              `json:"job"`
	JobFile    string              `json:"job_file"`
	Stage      string              `json:"stage"`
	// Made is when the manifest was committed, in RFC 3339; without one,
	// when the last run of the job in metrics.json ended.
	Made        string `json:"made"`
	Fingerprint string `json:"fingerprint"`
	// Generation is the manifest's (0 without one); Generations the
	// generations of the files listed.
	Generation  int   `json:"generation"`
	Generations []int `json:"generations"`
	// History is what each generation committed in the folder did, oldest
	// first, with the units of each that the output still holds.
	History   []generationReport `json:"history"`
	Units     unitsCount         `json:"units"`
	Rows      int64              `json:"rows"`
	Bytes     int64              `json:"bytes"`
	FilesFrom string             `json:"files_from"` // "manifest", "unit records" or "none"
	Files     []folderFile       `json:"files"`
	Unlisted  []string           `json:"unlisted"`
	Schema    []schemaColumn     `json:"schema"`
	dir       string             // the folder as given
	folder    output.Folder      // the folder opened
	manifest  *output.Manifest   // nil without a readable one
}

// generationReport is one generation of a folder's history.
type generationReport struct {
	output.GenerationNote
	// Holds are the keys of the units this generation scored that the
	// output still holds.
	Holds []string `json:"holds"`
}

// unitsCount counts work units: committed (records in `_pipe_units`) of
// the job's total, 0 when unknown.
type unitsCount struct {
	Committed int `json:"committed"`
	Total     int `json:"total"`
}

// folderFile is one data file of a folder.
type folderFile struct {
	Name       string `json:"name"`
	Rows       int64  `json:"rows"`
	Bytes      int64  `json:"bytes"`
	Generation int    `json:"generation"`
}

// schemaColumn is one column of a schema.
type schemaColumn struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

// runReport holds the fields of metrics.json that inspect shows.
type runReport struct {
	Job         string    `json:"job"`
	File        string    `json:"file"`
	Status      string    `json:"status"`
	Finished    time.Time `json:"finished"`
	Fingerprint string    `json:"fingerprint"`
	Units       *struct {
		Total int `json:"total"`
	} `json:"units"`
}

// inspectFolder describes the output folder dir.
func inspectFolder(ctx context.Context, dir string) (*folderReport, error) {
	f, err := openOutput(ctx, dir)
	if err != nil {
		return nil, err
	}
	if _, err := f.List(ctx, ""); err != nil {
		return nil, err
	}
	r := &folderReport{Path: dir, dir: dir, folder: f, Why: []string{}, InProgress: lockHolders(ctx, f), Generations: []int{}, History: []generationReport{},
		Files: []folderFile{}, Unlisted: []string{}, Schema: []schemaColumn{}, FilesFrom: "none"}
	r.readManifest(ctx, f)
	rep := readRunReport(ctx, f)
	r.readUnits(ctx, f, rep)
	if rep != nil && (r.Fingerprint == "" || rep.Fingerprint == r.Fingerprint) {
		r.JobFile = rep.File
		if r.Made == "" && !rep.Finished.IsZero() {
			r.Made = rep.Finished.UTC().Format(time.RFC3339)
		}
		if r.Job == "" {
			r.Job = rep.Job
		}
	}
	if len(r.InProgress) > 0 {
		r.Why = append(r.Why, "a run is writing it now (it holds the folder's lock)")
	}
	r.Complete = len(r.Why) == 0
	r.finishFiles(ctx, f)
	return r, nil
}

// readManifest reads the committed output: the manifest, its files, and
// why the folder is not complete.
func (r *folderReport) readManifest(ctx context.Context, f output.Folder) {
	_, serr := f.Stat(ctx, stages.SuccessFile)
	m, err := output.ReadManifest(ctx, f)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.Why = append(r.Why, "no "+stages.ManifestFile+": nothing was committed")
		return
	case err != nil:
		r.Why = append(r.Why, fmt.Sprintf("%s does not read: %v", stages.ManifestFile, err))
		return
	}
	if serr != nil {
		r.Why = append(r.Why, "no "+stages.SuccessFile+": the commit did not finish")
	}
	if p := m.Problem(ctx, f); p != "" {
		r.Why = append(r.Why, "its files differ from the manifest: "+p)
	}
	r.manifest = m
	if t, ok := modTime(ctx, f, stages.ManifestFile); ok {
		r.Made = t.UTC().Format(time.RFC3339)
	}
	r.Job, r.Stage, r.Fingerprint, r.Generation = m.Job, m.Stage, m.Fingerprint, max(m.Generation, 1)
	r.History = historyOf(m)
	r.FilesFrom = "manifest"
	for _, fl := range m.Files {
		r.Files = append(r.Files, folderFile{Name: fl.Name, Rows: fl.Rows, Bytes: fl.Bytes, Generation: partGeneration(fl.Name)})
	}
	if un, err := output.Unlisted(ctx, f, m); err == nil && un != nil {
		r.Unlisted = un
	}
}

// readUnits counts the unit records and, without a manifest, takes the
// files from them; the total comes from the shard manifests or the run
// report.
func (r *folderReport) readUnits(ctx context.Context, f output.Folder, rep *runReport) {
	ents, _ := f.List(ctx, stages.UnitsDir)
	var recs []*output.UnitRecord
	for _, e := range ents {
		var u int
		if _, err := fmt.Sscanf(e.Name, "unit-%d.json", &u); err != nil {
			continue
		}
		if rec, err := output.ReadUnitRecord(ctx, f, u); err == nil && (r.Fingerprint == "" || rec.Fingerprint == r.Fingerprint) {
			recs = append(recs, rec)
		}
	}
	r.Units.Committed = len(recs)
	if shards, err := output.ReadShardManifests(ctx, f); err == nil && len(shards) > 0 {
		r.Units.Total = shards[0].TotalUnits
	}
	if r.Units.Total == 0 && rep != nil && rep.Units != nil && (r.Fingerprint == "" || rep.Fingerprint == r.Fingerprint) {
		r.Units.Total = rep.Units.Total
	}
	if r.manifest != nil {
		return
	}
	if r.Units.Total > 0 || len(recs) > 0 {
		total := "an unknown number"
		if r.Units.Total > 0 {
			total = strconv.Itoa(r.Units.Total)
		}
		r.Why = append(r.Why, fmt.Sprintf("work units committed: %d of %s", len(recs), total))
	}
	for _, rec := range recs {
		if r.Fingerprint == "" {
			r.Fingerprint = rec.Fingerprint
		}
		r.FilesFrom = "unit records"
		for _, fl := range rec.Files {
			r.Files = append(r.Files, folderFile{Name: fl.Name, Rows: fl.Rows, Bytes: fl.Bytes, Generation: partGeneration(fl.Name)})
		}
	}
}

// finishFiles adds up the files, lists their generations and reads the
// schema of the first.
func (r *folderReport) finishFiles(ctx context.Context, f output.Folder) {
	seen := map[int]bool{}
	for _, fl := range r.Files {
		r.Rows += fl.Rows
		r.Bytes += fl.Bytes
		if fl.Generation > 0 && !seen[fl.Generation] {
			seen[fl.Generation] = true
			r.Generations = append(r.Generations, fl.Generation)
		}
	}
	if len(r.Files) == 0 {
		return
	}
	schema := fileSchema(ctx, f, r.Files[0].Name)
	if schema == nil {
		return
	}
	for _, fd := range schema.Fields() {
		r.Schema = append(r.Schema, schemaColumn{Name: fd.Name, Type: fd.Type.String(), Nullable: fd.Nullable})
	}
}

// readRunReport reads metrics.json, or nil.
func readRunReport(ctx context.Context, f output.Folder) *runReport {
	data, err := f.ReadFile(ctx, output.ReportFile)
	if err != nil {
		return nil
	}
	rep := &runReport{}
	if json.Unmarshal(data, rep) != nil {
		return nil
	}
	return rep
}

// lockHolders returns the runs holding the folder's locks now, as their
// lock files say (an unknown process when one does not say).
func lockHolders(ctx context.Context, f output.Folder) []output.LockHolder {
	out := []output.LockHolder{}
	lk, ok := f.(output.Locker)
	if !ok {
		return out
	}
	ents, _ := f.List(ctx, output.LockDir)
	for _, e := range ents {
		name := path.Join(output.LockDir, e.Name)
		if e.Name == "commit" || !e.Regular() || !lk.Held(ctx, name, true) {
			continue
		}
		var h output.LockHolder
		if data, err := f.ReadFile(ctx, name); err == nil {
			_ = json.Unmarshal(data, &h)
		}
		if h.PID != 0 || e.Name == "folder" {
			out = append(out, h)
		}
	}
	return out
}

// partName matches the part files pipe writes (see output.PartPrefix).
var partName = regexp.MustCompile(`^part-[0-9]{5,}-(?:g([0-9]+)-)?[0-9]{5,}\.parquet$`)

// partGeneration returns the generation a part file's name says: 1
// without -gG-, 0 for a name pipe does not write.
func partGeneration(name string) int {
	m := partName.FindStringSubmatch(path.Base(name))
	switch {
	case m == nil:
		return 0
	case m[1] == "":
		return 1
	}
	g, _ := strconv.Atoi(m[1])
	return g
}

// writeFolder prints the report as text.
func writeFolder(w io.Writer, r *folderReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "path: %s\n", r.Path)
	if r.Complete {
		b.WriteString("complete: yes\n")
	} else {
		fmt.Fprintf(&b, "complete: no: %s\n", strings.Join(r.Why, "; "))
	}
	for _, h := range r.InProgress {
		fmt.Fprintf(&b, "in progress: %s\n", h)
	}
	for _, kv := range [][2]string{{"job", r.Job}, {"job file", r.JobFile}, {"stage", r.Stage}, {"made", r.Made}, {"fingerprint", r.Fingerprint}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
		}
	}
	if r.Generation > 0 {
		fmt.Fprintf(&b, "generation: %d\n", r.Generation)
	}
	writeHistory(&b, r.History)
	if r.Units.Total > 0 || r.Units.Committed > 0 {
		fmt.Fprintf(&b, "work units: %d committed of %s\n", r.Units.Committed, unitsTotal(r.Units.Total))
	}
	fmt.Fprintf(&b, "rows: %d\nbytes: %d\n", r.Rows, r.Bytes)
	fmt.Fprintf(&b, "files (from %s): %d\n", r.FilesFrom, len(r.Files))
	rows := [][]string{{"name", "rows", "bytes", "generation"}}
	for _, fl := range r.Files {
		rows = append(rows, []string{fl.Name, strconv.FormatInt(fl.Rows, 10), strconv.FormatInt(fl.Bytes, 10), strconv.Itoa(fl.Generation)})
	}
	if len(r.Files) > 0 {
		writeTable(&b, "  ", rows, []bool{false, true, true, true})
	}
	for _, u := range r.Unlisted {
		fmt.Fprintf(&b, "not listed (an unfinished run's, or an old generation's): %s\n", u)
	}
	b.WriteString("schema:\n")
	for _, c := range r.Schema {
		null := ""
		if !c.Nullable {
			null = " not null"
		}
		fmt.Fprintf(&b, "  %s: %s%s\n", c.Name, c.Type, null)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// historyOf returns the generations of m's history with the units of each
// that m holds.
func historyOf(m *output.Manifest) []generationReport {
	out := make([]generationReport, len(m.History))
	at := map[int]int{}
	for i, g := range m.History {
		out[i] = generationReport{GenerationNote: g, Holds: []string{}}
		at[g.Generation] = i
	}
	for _, u := range m.Units {
		if i, ok := at[u.Generation]; ok {
			out[i].Holds = append(out[i].Holds, u.Key)
		}
	}
	return out
}

// maxHoldsShown bounds the unit keys printed per generation.
const maxHoldsShown = 5

// writeHistory prints a folder's generations, newest first.
func writeHistory(b *strings.Builder, h []generationReport) {
	if len(h) == 0 {
		return
	}
	b.WriteString("generations (newest first):\n")
	for i := len(h) - 1; i >= 0; i-- {
		fmt.Fprintf(b, "  %s\n", h[i].GenerationNote)
		for j, k := range h[i].Holds {
			if j == maxHoldsShown {
				fmt.Fprintf(b, "    ... and %d more units\n", len(h[i].Holds)-j)
				break
			}
			fmt.Fprintf(b, "    holds %s\n", k)
		}
	}
}

// unitsTotal writes a unit total, "?" when unknown.
func unitsTotal(n int) string {
	if n == 0 {
		return "?"
	}
	return strconv.Itoa(n)
}

// dataFiles returns the paths of the folder's data files, in order.
func (r *folderReport) dataFiles() []string {
	out := make([]string, len(r.Files))
	for i, fl := range r.Files {
		out[i] = r.folder.Path(fl.Name)
	}
	return out
}

// objectFolder is what a bucket folder (output/s3folder) adds to
// [output.Folder] that inspect uses: objects' times, and ranged reads.
type objectFolder interface {
	ModTime(ctx context.Context, name string) (time.Time, error)
	OpenAt(ctx context.Context, name string) (io.ReaderAt, int64, error)
}

// modTime returns when name in f was last written, where f can tell.
func modTime(ctx context.Context, f output.Folder, name string) (time.Time, bool) {
	if of, ok := f.(objectFolder); ok {
		t, err := of.ModTime(ctx, name)
		return t, err == nil
	}
	if output.Scheme(f.Path("")) != "" {
		return time.Time{}, false
	}
	st, err := os.Stat(f.Path(name))
	if err != nil {
		return time.Time{}, false
	}
	return st.ModTime(), true
}

// fileSchema returns the schema of the Parquet file name in f, or nil: a
// local file through [source.Inspect], an object from its footer by
// ranged reads.
func fileSchema(ctx context.Context, f output.Folder, name string) *arrow.Schema {
	of, ok := f.(objectFolder)
	if !ok {
		info, err := source.Inspect(f.Path(name))
		if err != nil {
			return nil
		}
		return info.Schema
	}
	at, size, err := of.OpenAt(ctx, name)
	if err != nil {
		return nil
	}
	rdr, err := file.NewParquetReader(io.NewSectionReader(at, 0, size))
	if err != nil {
		return nil
	}
	defer rdr.Close()
	schema, err := pqarrow.FromParquet(rdr.MetaData().Schema, nil, rdr.MetaData().KeyValueMetadata())
	if err != nil {
		return nil
	}
	return schema
}
