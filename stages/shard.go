package stages

// Unit is one work unit of a source: a piece of its input whose output is
// computed and committed on its own, so that a killed run redoes only the
// units it had not committed and a job can be split into shards across
// machines. A Parquet unit is a run of consecutive row groups of one file.
type Unit struct {
	// Key names the unit for people and logs, such as
	// "data/a.parquet#0-3" (row groups 0 to 3) or "data/b.csv".
	Key string
	// Rows is the unit's row count when known before reading (Parquet and
	// IPC footers, generators); -1 when unknown.
	Rows int64
	// Bytes is the size of the unit's files when the unit is whole files
	// whose rows are not known before reading (CSV, JSON lines): progress
	// and ETAs go by bytes read then (see [ReadProgresser]). 0 otherwise.
	Bytes int64
	// Files are the input files (paths or object URLs) the unit reads, in
	// order; none for a unit that reads no file (a generator's). An
	// incremental run recognises a unit it scored before by its key and
	// the size and version of these files.
	Files []string
}

// ReadProgresser is implemented by sources that can say how many bytes of
// their files they have read (compressed bytes for compressed files), so
// that a run whose row count is unknown still has an ETA.
type ReadProgresser interface {
	BytesRead() int64
}

// SumBytes returns the bytes of units, or 0 when any unit's size is
// unknown.
func SumBytes(units []Unit) int64 {
	var n int64
	for _, u := range units {
		if u.Bytes <= 0 {
			return 0
		}
		n += u.Bytes
	}
	return n
}

// SumRows returns the rows of units, or -1 when any unit's count is
// unknown.
func SumRows(units []Unit) int64 {
	var n int64
	for _, u := range units {
		if u.Rows < 0 {
			return -1
		}
		n += u.Rows
	}
	return n
}

// Sharder is implemented by sources whose input splits into work units.
// The list must be stable: the same files and config give the same units in
// the same order, whatever machine or shard lists them; a unit never spans
// two files.
type Sharder interface {
	// Units lists the source's work units in order. unitRows is the target
	// size: consecutive row groups (or other natural pieces) of one file are
	// grouped until they hold at least unitRows rows. A source without
	// pieces smaller than a file makes one unit per file.
	Units(unitRows int64) []Unit
	// Shard returns a new source that reads only the listed units (indexes
	// into Units(unitRows)), in the order given, with the receiver's
	// schema. It may share read-only state with the receiver, which stays
	// open while it is used. The caller owns the new source and closes it.
	Shard(unitRows int64, units []int) (Source, error)
}
