package tokenizer

import "fmt"

// truncate cuts the ids of a text (and its pair) so that, with added
// special tokens, they fit tr.MaxLength, following the rules of Hugging
// Face's truncate_encodings.
func truncate(a, b []int32, pair bool, tr Truncation, added int) ([]int32, []int32, error) {
	if tr.MaxLength <= 0 {
		return a, b, nil
	}
	if tr.MaxLength < added {
		return nil, nil, fmt.Errorf("%w: max length %d is below the %d special tokens", ErrTruncation, tr.MaxLength, added)
	}
	limit := tr.MaxLength - added
	if limit == 0 {
		return a[:0], b[:0], nil
	}
	total := len(a) + len(b)
	if total <= limit {
		return a, b, nil
	}
	remove := total - limit
	switch tr.Strategy {
	case LongestFirst:
		if !pair {
			return cut(a, limit, tr.Side), b, nil
		}
		n1, n2 := longestFirst(len(a), len(b), limit)
		return cut(a, n1, tr.Side), cut(b, n2, tr.Side), nil
	case OnlyFirst, OnlySecond:
		if tr.Strategy == OnlySecond && !pair {
			return nil, nil, fmt.Errorf("%w: OnlySecond needs a pair of texts", ErrTruncation)
		}
		target := &a
		if tr.Strategy == OnlySecond {
			target = &b
		}
		if len(*target) <= remove {
			return nil, nil, fmt.Errorf("%w: the sequence to cut has %d tokens, %d must go", ErrTruncation, len(*target), remove)
		}
		*target = cut(*target, len(*target)-remove, tr.Side)
		return a, b, nil
	}
	return nil, nil, fmt.Errorf("%w: unknown strategy %d", ErrTruncation, tr.Strategy)
}

// cut keeps n ids from the start (Right) or the end (Left).
func cut(ids []int32, n int, side Side) []int32 {
	if n >= len(ids) {
		return ids
	}
	if side == Left {
		return ids[len(ids)-n:]
	}
	return ids[:n]
}

// longestFirst returns how many ids each text of a pair keeps: when the
// shorter fits, the longer takes the rest (at least as much as the
// shorter); otherwise each gets half of the limit, the longer the odd id.
func longestFirst(la, lb, limit int) (int, int) {
	n1, n2 := la, lb
	swap := n1 > n2
	if swap {
		n1, n2 = n2, n1
	}
	if n1 > limit {
		n2 = n1
	} else {
		n2 = max(n1, limit-n1)
	}
	if n1+n2 > limit {
		n1 = limit / 2
		n2 = n1 + limit%2
	}
	if swap {
		return n2, n1
	}
	return n1, n2
}
