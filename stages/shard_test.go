package stages

import "testing"

func TestSumRows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		units []Unit
		want  int64
	}{
		{"none", nil, 0},
		{"known", []Unit{{Key: "a", Rows: 3}, {Key: "b", Rows: 0}, {Key: "c", Rows: 4}}, 7},
		{"one unknown", []Unit{{Key: "a", Rows: 3}, {Key: "b", Rows: -1}, {Key: "c", Rows: 4}}, -1},
	} {
		if got := SumRows(tc.units); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
