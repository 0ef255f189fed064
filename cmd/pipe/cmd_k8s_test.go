package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	k8syaml "sigs.k8s.io/yaml"
)

// k8sJob writes its output under ${PIPE_OUTPUT} and needs no model runtime.
const k8sJob = `version: 1
name: Score_Tx.Daily
stages:
  - id: gen
    type: generate
    with: {count: 100, columns: [{name: id, type: int64}]}
  - id: write
    type: parquet_sink
    inputs: [gen]
    with: {path: "${PIPE_OUTPUT}/scores"}
`

// k8sDocs runs pipe k8s, which must succeed, and splits its YAML documents.
func k8sDocs(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := pipe(append([]string{"k8s"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d YAML documents, want 2:\n%s", len(docs), out)
	}
	return docs
}

func decodeK8s(t *testing.T, doc string, obj any) {
	t.Helper()
	if err := k8syaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
}

func TestK8sJob(t *testing.T) {
	file := writeJob(t, k8sJob)
	docs := k8sDocs(t, file, "--shards", "8", "--image", "registry.example/pipe:1.0", "--parallelism", "3",
		"--cpu", "1500m", "--memory", "4Gi", "--volume-claim", "scoring-data", "--mount-path", "/mnt/data/",
		"--set", "gen.count=10", "--set", "write.compression=zstd", "--env", "REGION=eu", "--namespace", "batch",
		"--max-failed-indexes", "2", "--ttl-seconds-after-finished", "3600", "--service-account", "scorer")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	var cm corev1.ConfigMap
	decodeK8s(t, docs[0], &cm)
	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Name != "score-tx-daily" || cm.Namespace != "batch" {
		t.Errorf("config map %s %s %s/%s", cm.APIVersion, cm.Kind, cm.Namespace, cm.Name)
	}
	if len(cm.Data) != 1 || cm.Data["job.yaml"] != string(data) {
		t.Errorf("config map data %q, want the job file's bytes under job.yaml", cm.Data)
	}

	var job batchv1.Job
	decodeK8s(t, docs[1], &job)
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || job.Name != "score-tx-daily" || job.Namespace != "batch" {
		t.Errorf("job %s %s %s/%s", job.APIVersion, job.Kind, job.Namespace, job.Name)
	}
	wantLabels := map[string]string{"app.kubernetes.io/name": "pipe", "app.kubernetes.io/instance": "score-tx-daily"}
	for _, labels := range []map[string]string{cm.Labels, job.Labels, job.Spec.Template.Labels} {
		if len(labels) != 2 || labels["app.kubernetes.io/name"] != "pipe" || labels["app.kubernetes.io/instance"] != "score-tx-daily" {
			t.Errorf("labels %v, want %v", labels, wantLabels)
		}
	}
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completion mode %v", s.CompletionMode)
	}
	for _, c := range []struct {
		field string
		got   *int32
		want  int32
	}{
		{"completions", s.Completions, 8},
		{"parallelism", s.Parallelism, 3},
		{"backoffLimitPerIndex", s.BackoffLimitPerIndex, 3},
		{"maxFailedIndexes", s.MaxFailedIndexes, 2},
		{"ttlSecondsAfterFinished", s.TTLSecondsAfterFinished, 3600},
	} {
		if c.got == nil || *c.got != c.want {
			t.Errorf("%s = %v, want %d", c.field, c.got, c.want)
		}
	}
	if s.PodFailurePolicy == nil || len(s.PodFailurePolicy.Rules) != 2 ||
		s.PodFailurePolicy.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob ||
		!slices.Equal(s.PodFailurePolicy.Rules[0].OnExitCodes.Values, []int32{exitUsage}) {
		t.Errorf("pod failure policy %+v", s.PodFailurePolicy)
	}

	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || pod.ServiceAccountName != "scorer" || len(pod.Containers) != 1 {
		t.Fatalf("pod spec %+v", pod)
	}
	c := pod.Containers[0]
	wantCmd := []string{"pipe", "run", "/etc/pipe/job.yaml", "--shard", "auto/8", "-q",
		"--set", "gen.count=10", "--set", "write.compression=zstd"}
	if c.Name != "pipe" || c.Image != "registry.example/pipe:1.0" || !slices.Equal(c.Command, wantCmd) {
		t.Errorf("container %s %s %q, want command %q", c.Name, c.Image, c.Command, wantCmd)
	}
	wantEnv := []corev1.EnvVar{{Name: "PIPE_OUTPUT", Value: "/mnt/data/out/score-tx-daily"}, {Name: "REGION", Value: "eu"}}
	if !slices.Equal(c.Env, wantEnv) {
		t.Errorf("env %+v, want %+v", c.Env, wantEnv)
	}
	for _, q := range []struct {
		name string
		got  resource.Quantity
		want string
	}{
		{"cpu request", c.Resources.Requests[corev1.ResourceCPU], "1500m"},
		{"memory request", c.Resources.Requests[corev1.ResourceMemory], "4Gi"},
		{"memory limit", c.Resources.Limits[corev1.ResourceMemory], "4Gi"},
	} {
		if q.got.Cmp(resource.MustParse(q.want)) != 0 {
			t.Errorf("%s = %s, want %s", q.name, q.got.String(), q.want)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		t.Error("a CPU limit is set; only the request should be")
	}

	// The ConfigMap at /etc/pipe, read-only; the claim at the mount path.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if len(mounts) != 2 || len(vols) != 2 {
		t.Fatalf("mounts %+v, volumes %+v", c.VolumeMounts, pod.Volumes)
	}
	jm, jv := mounts[k8sJobVolume], vols[k8sJobVolume]
	if jm.MountPath != "/etc/pipe" || !jm.ReadOnly || jv.ConfigMap == nil || jv.ConfigMap.Name != cm.Name {
		t.Errorf("job file mount %+v, volume %+v", jm, jv)
	}
	dm, dv := mounts[k8sDataVolume], vols[k8sDataVolume]
	if dm.MountPath != "/mnt/data" || dm.ReadOnly || dv.PersistentVolumeClaim == nil || dv.PersistentVolumeClaim.ClaimName != "scoring-data" {
		t.Errorf("data mount %+v, volume %+v", dm, dv)
	}
}

func TestK8sJobMinimal(t *testing.T) {
	file := writeJob(t, k8sJob)
	docs := k8sDocs(t, file, "--shards", "4", "--image", "pipe:1", "--output", "/shared/out")
	var job batchv1.Job
	decodeK8s(t, docs[1], &job)
	s := job.Spec
	if *s.Completions != 4 || *s.Parallelism != 4 || *s.BackoffLimitPerIndex != 3 {
		t.Errorf("completions %d parallelism %d backoffLimitPerIndex %d, want 4 4 3", *s.Completions, *s.Parallelism, *s.BackoffLimitPerIndex)
	}
	if s.MaxFailedIndexes != nil || s.TTLSecondsAfterFinished != nil || job.Namespace != "" {
		t.Errorf("unasked fields set: maxFailedIndexes %v ttl %v namespace %q", s.MaxFailedIndexes, s.TTLSecondsAfterFinished, job.Namespace)
	}
	c := s.Template.Spec.Containers[0]
	if len(c.Resources.Requests) != 0 || len(c.Resources.Limits) != 0 {
		t.Errorf("resources %+v, want none", c.Resources)
	}
	if want := []corev1.EnvVar{{Name: "PIPE_OUTPUT", Value: "/shared/out"}}; !slices.Equal(c.Env, want) {
		t.Errorf("env %+v, want %+v", c.Env, want)
	}
	if len(c.VolumeMounts) != 1 || len(s.Template.Spec.Volumes) != 1 || c.VolumeMounts[0].MountPath != "/etc/pipe" {
		t.Errorf("mounts %+v, want only the job file's", c.VolumeMounts)
	}
}

func TestK8sCronJob(t *testing.T) {
	file := writeJob(t, k8sJob)
	docs := k8sDocs(t, file, "--shards", "2", "--image", "pipe:1", "--output", "/shared/out/",
		"--schedule", "30 3 * * MON-FRI", "--time-zone", "Europe/Paris",
		"--name", "a very long name that is far too long for a CronJob, which allows 52")
	var cm corev1.ConfigMap
	decodeK8s(t, docs[0], &cm)
	var cron batchv1.CronJob
	decodeK8s(t, docs[1], &cron)
	const name = "a-very-long-name-that-is-far-too-long-for-a-cronjob" // 51: the 52nd was a '-'
	if cron.APIVersion != "batch/v1" || cron.Kind != "CronJob" || cron.Name != name || cm.Name != name {
		t.Errorf("cron job %s %s %q, config map %q", cron.APIVersion, cron.Kind, cron.Name, cm.Name)
	}
	s := cron.Spec
	if s.Schedule != "30 3 * * MON-FRI" || s.ConcurrencyPolicy != batchv1.ForbidConcurrent || s.TimeZone == nil || *s.TimeZone != "Europe/Paris" {
		t.Errorf("schedule %q concurrency %q time zone %v", s.Schedule, s.ConcurrencyPolicy, s.TimeZone)
	}
	js := s.JobTemplate.Spec
	if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion || *js.Completions != 2 {
		t.Errorf("job template %+v", js)
	}
	c := js.Template.Spec.Containers[0]
	if !slices.Contains(c.Command, "auto/2") || !slices.Contains(c.Command, "/etc/pipe/job.yaml") {
		t.Errorf("command %q", c.Command)
	}
	// Each run writes under a folder named for its Job.
	if len(c.Env) != 2 || c.Env[0].Name != "PIPE_RUN" || c.Env[0].ValueFrom == nil ||
		c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-name']" ||
		c.Env[1] != (corev1.EnvVar{Name: "PIPE_OUTPUT", Value: "/shared/out/$(PIPE_RUN)"}) {
		t.Errorf("env %+v", c.Env)
	}
}

// TestK8sCronJobIncremental: the scheduled runs of an incremental job all
// write the one output folder, each extending it.
func TestK8sCronJobIncremental(t *testing.T) {
	file := writeJob(t, strings.Replace(k8sJob, "name: Score_Tx.Daily\n", "name: nightly\nmode: incremental\n", 1))
	docs := k8sDocs(t, file, "--shards", "2", "--image", "pipe:1", "--output", "/shared/out", "--schedule", "@daily")
	var cron batchv1.CronJob
	decodeK8s(t, docs[1], &cron)
	if cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrency %q, want Forbid", cron.Spec.ConcurrencyPolicy)
	}
	c := cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if want := []corev1.EnvVar{{Name: "PIPE_OUTPUT", Value: "/shared/out"}}; !slices.Equal(c.Env, want) {
		t.Errorf("env %+v, want %+v", c.Env, want)
	}
}

// TestK8sObjectStorage: a job reading and writing a bucket needs no volume
// claim, and its credentials reach the pods by reference to a Secret.
func TestK8sObjectStorage(t *testing.T) {
	file := writeJob(t, k8sJob)
	// --load-only: the bucket is the cluster's, out of reach from here.
	docs := k8sDocs(t, file, "--shards", "4", "--image", "pipe:1", "--output", "s3://scores/nightly", "--load-only",
		"--env-from-secret", "s3-credentials", "--service-account", "scorer", "--env", "AWS_REGION=eu-west-1")
	var job batchv1.Job
	decodeK8s(t, docs[1], &job)
	s := job.Spec.Template.Spec
	c := s.Containers[0]
	if len(s.Volumes) != 1 || len(c.VolumeMounts) != 1 {
		t.Errorf("volumes %+v: want only the job file's", s.Volumes)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != "s3-credentials" {
		t.Errorf("envFrom %+v, want the Secret s3-credentials", c.EnvFrom)
	}
	if s.ServiceAccountName != "scorer" || !slices.Contains(c.Env, corev1.EnvVar{Name: "PIPE_OUTPUT", Value: "s3://scores/nightly"}) {
		t.Errorf("service account %q, env %+v", s.ServiceAccountName, c.Env)
	}
	if code, _, errOut := pipe("k8s", file, "--shards", "2", "--image", "pipe:1", "--output", "/o", "--env-from-secret", "Bad_Name"); code != 2 || !strings.Contains(errOut, "--env-from-secret") {
		t.Errorf("a bad secret name: exit %d, %s", code, errOut)
	}
}

func TestK8sValidation(t *testing.T) {
	// The job is checked with the variables the pod will have.
	needsVar := writeJob(t, strings.Replace(k8sJob, "/scores", "/${K8S_TEST_SUB}", 1))
	noInput := writeJob(t, `version: 1
stages:
  - id: read
    type: parquet_source
    with: {paths: ["/nonexistent/in/*.parquet"]}
  - id: write
    type: parquet_sink
    inputs: [read]
    with: {path: "${PIPE_OUTPUT}/scores"}
`)
	noOutputVar := writeJob(t, strings.Replace(k8sJob, "${PIPE_OUTPUT}/scores", "out", 1))
	base := []string{"k8s", "--shards", "2", "--image", "pipe:1", "--output", "/o"}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"variable unset", []string{needsVar}, 2, "K8S_TEST_SUB is not set"},
		{"variable from --env", []string{needsVar, "--env", "K8S_TEST_SUB=x"}, 0, ""},
		{"input only in the cluster", []string{noInput}, 2, "matches no file"},
		{"--load-only", []string{noInput, "--load-only"}, 0, ""},
		{"--load-only still loads", []string{needsVar, "--load-only"}, 2, "K8S_TEST_SUB is not set"},
		{"--set is applied", []string{needsVar, "--env", "K8S_TEST_SUB=x", "--set", "gen.nope=1"}, 2, "nope"},
		{"no ${PIPE_OUTPUT}", []string{noOutputVar}, 0, "does not use ${PIPE_OUTPUT}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := pipe(append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstderr: %s", code, tc.code, errOut)
			}
			if (code == 0) != strings.Contains(out, "kind: Job") {
				t.Fatalf("exit %d with stdout:\n%s", code, out)
			}
		})
	}
	// The name falls back to the file's base name.
	code, out, errOut := pipe(append(base, noInput, "--load-only")...)
	if code != 0 || !strings.Contains(out, "\n  name: job\n") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

func TestK8sErrors(t *testing.T) {
	file := writeJob(t, k8sJob)
	broken := writeJob(t, "version: 1\nstages:\n  - {id: gen, type: generat}\n")
	badKey := filepath.Join(t.TempDir(), "job file.yaml")
	if err := os.WriteFile(badKey, []byte(k8sJob), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := []string{"--shards", "4", "--image", "pipe:1", "--output", "/o"}
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no --shards", []string{file, "--image", "pipe:1", "--output", "/o"}, "--shards is required"},
		{"no --image", []string{file, "--shards", "2", "--output", "/o"}, "--image is required"},
		{"no --output nor claim", []string{file, "--shards", "2", "--image", "pipe:1"}, "--output is required without --volume-claim"},
		{"negative shards", []string{file, "--shards", "-1", "--image", "pipe:1", "--output", "/o"}, "--shards: -1 is not in 1..100000"},
		{"parallelism > shards", append([]string{file, "--parallelism", "5"}, ok...), "--parallelism: 5 is not in 1..4"},
		{"max failed > shards", append([]string{file, "--max-failed-indexes", "5"}, ok...), "--max-failed-indexes: 5 is not in 0..4"},
		{"negative backoff", append([]string{file, "--backoff-limit-per-index", "-1"}, ok...), "is negative"},
		{"bad cpu", append([]string{file, "--cpu", "2 cores"}, ok...), `--cpu: "2 cores" is not a Kubernetes quantity`},
		{"bad memory", append([]string{file, "--memory", "4GB"}, ok...), `--memory: "4GB" is not a Kubernetes quantity`},
		{"zero memory", append([]string{file, "--memory", "0"}, ok...), `--memory: "0" is not positive`},
		{"bad cron", append([]string{file, "--schedule", "0 3 * *"}, ok...), "has 4 fields; want 5"},
		{"bad cron field", append([]string{file, "--schedule", "0 3h * * *"}, ok...), `hour field "3h"`},
		{"time zone in cron", append([]string{file, "--schedule", "CRON_TZ=UTC 0 3 * * *"}, ok...), "use --time-zone"},
		{"time zone alone", append([]string{file, "--time-zone", "UTC"}, ok...), "--time-zone needs --schedule"},
		{"bad env", append([]string{file, "--env", "NOVALUE"}, ok...), "want KEY=VALUE"},
		{"bad env name", append([]string{file, "--env", "1X=y"}, ok...), `"1X" is not a variable name`},
		{"env PIPE_OUTPUT", append([]string{file, "--env", "PIPE_OUTPUT=/x"}, ok...), "set the output with --output"},
		{"env twice", append([]string{file, "--env", "A=1", "--env", "A=2"}, ok...), "A is given twice"},
		{"bad namespace", append([]string{file, "--namespace", "Prod_1"}, ok...), "--namespace"},
		{"bad claim", append([]string{file, "--volume-claim", "My Claim"}, ok...), "--volume-claim"},
		{"relative mount", []string{file, "--shards", "2", "--image", "pipe:1", "--volume-claim", "d", "--mount-path", "data"}, "not an absolute path"},
		{"mount over the job", []string{file, "--shards", "2", "--image", "pipe:1", "--volume-claim", "d", "--mount-path", "/etc"}, "overlaps /etc/pipe"},
		{"bad name", append([]string{file, "--name", "---"}, ok...), `--name: "---" has no letter or digit`},
		{"broken job", append([]string{broken}, ok...), `unknown stage type "generat"`},
		{"missing job", append([]string{"/nonexistent/job.yaml"}, ok...), "no such file"},
		{"bad ConfigMap key", append([]string{badKey}, ok...), "not a valid ConfigMap key"},
		{"no job", ok, "accepts 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := pipe(append([]string{"k8s"}, tc.args...)...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stderr with: %s", code, exitUsage, out, errOut, tc.stderr)
			}
		})
	}
}

func TestK8sName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"score", 63, "score"},
		{"Score_Tx.Daily", 63, "score-tx-daily"},
		{"--a  b--", 63, "a-b"},
		{"2024 run", 63, "2024-run"},
		{"émissions CO₂", 63, "missions-co"},
		{strings.Repeat("a", 70), 63, strings.Repeat("a", 63)},
		{strings.Repeat("a", 51) + "_b", 52, strings.Repeat("a", 51)}, // no '-' left at the end
		{"", 63, ""},
		{"___", 63, ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := k8sName(tc.in, tc.max)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("k8sName(%q) = %q, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("k8sName(%q, %d) = %q, %v; want %q", tc.in, tc.max, got, err, tc.want)
			}
		})
	}
}

func TestCheckCron(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"0 3 * * *", true},
		{"*/15 0-6,22 1 JAN-MAR mon", true},
		{"0 0 ? * SUN", true},
		{"@daily", true},
		{"@hourly", true},
		{"@every 5m", false},
		{"0 3 * *", false},
		{"0 3 * * * *", false},
		{"0 3am * * *", false},
		{"0 3 * * $", false},
		{"TZ=UTC 0 3 * * *", false},
		{"", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if err := checkCron(tc.in); (err == nil) != tc.ok {
				t.Fatalf("checkCron(%q) = %v, want ok %v", tc.in, err, tc.ok)
			}
		})
	}
}
