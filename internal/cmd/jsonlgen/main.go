// Command jsonlgen writes the JSON-lines input of the batching benchmark:
// one object per line with an id and k float features, as k fields
// f0..f{k-1} or, with -vector, as one array field x (the same values).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	out := flag.String("out", "", "output file")
	rows := flag.Int("rows", 100000, "lines")
	k := flag.Int("k", 32, "features per line")
	vector := flag.Bool("vector", false, `features as one array "x": [...] instead of k fields`)
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: jsonlgen -out FILE [-rows N] [-k K] [-vector]")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsonlgen:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 0, 1024)
	for i := 0; i < *rows; i++ {
		buf = append(buf[:0], `{"id":`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		if *vector {
			buf = append(buf, `,"x":[`...)
		}
		for j := 0; j < *k; j++ {
			switch {
			case !*vector:
				buf = append(buf, `,"f`...)
				buf = strconv.AppendInt(buf, int64(j), 10)
				buf = append(buf, `":`...)
			case j > 0:
				buf = append(buf, ',')
			}
			buf = strconv.AppendFloat(buf, rng.NormFloat64(), 'g', 7, 64)
		}
		if *vector {
			buf = append(buf, ']')
		}
		buf = append(buf, "}\n"...)
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "jsonlgen:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "jsonlgen:", err)
		os.Exit(1)
	}
}
