package source

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/stages"
)

// This file holds partitioning hive for s3:// paths. A prefix is walked as
// a local folder is, one level of key=value "folders" at a time: each
// level is one ListObjectsV2 with the delimiter "/" (paged), whose common
// prefixes are the sub-folders and whose objects are the data files, and
// the prefixes of a level are pruned by the partitions condition before
// the level under them is listed. A bucket of many days then costs a
// listing of the days kept, not of every object, and no object under a
// pruned prefix is listed or fetched. Objects a glob or a plain URL names
// are pruned by the key=value segments of their keys, before any GET.

// listObjects lists the objects of the s3:// entry raw for partitioning
// hive, noting their size and ETag in l; n counts the objects found and
// the prefixes pruned.
func (h *hiveLayout) listObjects(l *pathList, raw string, exts []string) (files []hiveFile, n int, err error) {
	// Sources are built without a context; the SDK's retryer bounds each
	// request.
	ctx := context.Background()
	bucket, key, err := splitObjectURL(raw)
	if err != nil {
		return nil, 0, err
	}
	client, err := objectClient(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("paths: %s: %w", raw, err)
	}
	var named *pathList // the objects a glob or a plain key names
	if strings.ContainsAny(key, "*?[") {
		named = &pathList{seen: map[string]bool{}}
		if _, err := named.addGlob(ctx, client, raw, bucket, key); err != nil {
			return nil, 0, err
		}
	} else if key != "" && !strings.HasSuffix(key, "/") {
		o, found, err := headObject(ctx, client, bucket, key)
		if err != nil {
			return nil, 0, fmt.Errorf("paths: %s: %w", raw, err)
		}
		if found {
			named = &pathList{seen: map[string]bool{}}
			named.addObject(o)
		}
	}
	if named != nil {
		for _, u := range named.matched {
			l.noteObject(named.objects[u])
			files = append(files, hiveFile{path: u, vals: trailingSegments(path.Dir(u))})
		}
		return files, len(files), nil
	}
	root := strings.TrimSuffix(objectScheme+bucket+"/"+strings.TrimSuffix(key, "/"), "/")
	files, pruned, err := h.walk(root, exts, &l.skipped, h.objectLevel(ctx, client, l, bucket))
	if err != nil {
		return nil, 0, fmt.Errorf("paths: %w", err)
	}
	return files, len(files) + pruned, nil
}

// noteObject records what the listing saw of o, without adding it to the
// matched paths.
func (l *pathList) noteObject(o objectInfo) {
	if l.objects == nil {
		l.objects = map[string]objectInfo{}
	}
	l.objects[o.url()] = o
}

// objectLevel returns the [levelReader] of the "folders" (key prefixes) of
// bucket: one delimited listing per folder, noting the objects' size and
// ETag in l.
func (h *hiveLayout) objectLevel(ctx context.Context, client *s3.Client, l *pathList, bucket string) levelReader {
	return func(d hiveFile, exts []string, left *[]stages.FileNote) (dirs, files []hiveFile, err error) {
		prefix := strings.TrimPrefix(strings.TrimPrefix(d.path, objectScheme+bucket), "/")
		if prefix != "" {
			prefix += "/"
		}
		pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: list objects under %q: %w", d.path, prefix, err)
			}
			for _, cp := range page.CommonPrefixes {
				name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
				p := d.path + "/" + name
				if hiddenName(name) {
					*left = append(*left, stages.FileNote{Path: p, Reason: "name starts with " + name[:1]})
					continue
				}
				sub, err := h.subFolder(d, name, p)
				if err != nil {
					return nil, nil, err
				}
				dirs = append(dirs, sub)
			}
			for _, o := range page.Contents {
				info := objectInfo{bucket: bucket, key: aws.ToString(o.Key), size: aws.ToInt64(o.Size), etag: aws.ToString(o.ETag)}
				name := strings.TrimPrefix(info.key, prefix)
				switch {
				case name == "": // the folder's marker
				case hiddenName(name):
					*left = append(*left, stages.FileNote{Path: info.url(), Reason: "name starts with " + name[:1]})
				case !hasExtension(name, exts):
					*left = append(*left, stages.FileNote{Path: info.url(), Reason: "extension"})
				default:
					l.noteObject(info)
					files = append(files, hiveFile{path: info.url(), vals: d.vals})
				}
			}
		}
		return dirs, files, nil
	}
}

// hiddenName reports whether a file or folder name is left out of a
// folder's listing: it starts with "." or "_".
func hiddenName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}
