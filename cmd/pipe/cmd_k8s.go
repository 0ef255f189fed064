package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/pipe-ml/pipe/pipeline"
)

// Where the pod finds the job file and what it names things.
const (
	k8sJobDir        = "/etc/pipe"
	k8sContainer     = "pipe"
	k8sJobVolume     = "job"
	k8sDataVolume    = "data"
	k8sMaxShards     = 100_000 // the API's limit on completions with backoffLimitPerIndex
	k8sJobNameMax    = 63      // a Job's name becomes a label value
	k8sCronNameMax   = 52      // the CronJob controller appends 11 characters
	k8sOutputEnv     = "PIPE_OUTPUT"
	k8sRunEnv        = "PIPE_RUN"
	k8sJobNameLabel  = "batch.kubernetes.io/job-name"
	k8sIndexEnv      = "JOB_COMPLETION_INDEX"
	k8sLabelName     = "app.kubernetes.io/name"
	k8sLabelInstance = "app.kubernetes.io/instance"
)

// k8sOptions holds the flags of pipe k8s.
type k8sOptions struct {
	shards               int
	parallelism          int
	backoffLimitPerIndex int32
	maxFailedIndexes     int32
	ttl                  int32
	image                string
	name                 string
	namespace            string
	schedule             string
	incremental          bool // the job's mode is incremental (set by validateJob)
	timeZone             string
	output               string
	volumeClaim          string
	mountPath            string
	cpu                  string
	memory               string
	serviceAccount       string
	set                  []string
	env                  []string
	loadOnly             bool
	serve                bool
	replicas             int
	tokenSecret          string
	envFromSecrets       []string // Secrets whose keys become the pods' environment

	// Set by check and resolve.
	hasMaxFailed, hasTTL bool
	cpuQ, memQ           *resource.Quantity
	envVars              []corev1.EnvVar
}

func newK8sCmd(g *globals) *cobra.Command {
	o := &k8sOptions{}
	c := &cobra.Command{
		Use:   "k8s JOB --shards N --image IMAGE",
		Short: "Print a Kubernetes Indexed Job (or CronJob) that runs a job in N shards, or a Deployment serving it",
		Long: `Print, on stdout, the Kubernetes objects that run JOB in N shards, ready for
kubectl apply -f -:

  - a ConfigMap holding the job file, mounted read-only at /etc/pipe;
  - an Indexed Job (batch/v1) of N completions whose pod k runs
      pipe run /etc/pipe/JOBFILE --shard auto/N -q [--set ...]
    and so processes shard k (Kubernetes sets JOB_COMPLETION_INDEX);
  - with --schedule, a CronJob whose job template is that Job.

The job is loaded and built first, as pipe validate does, with PIPE_OUTPUT and
the --env variables set as the pod will have them; a job that does not
validate is refused (exit 2) and nothing is printed. Jobs whose inputs or
models exist only in the cluster can be checked with --load-only instead.

Outputs. The pod gets PIPE_OUTPUT, the output location: the job should write
under ${PIPE_OUTPUT} (for example a sink with path: ${PIPE_OUTPUT}/scores).
Every shard writes its own files into the same folders and the last one to
finish commits them, so the output must be on storage all pods share:
either a PersistentVolumeClaim (--volume-claim, mounted at --mount-path; the
output defaults to MOUNT/out/NAME) or a location given with --output that all
pods reach. With --schedule, every run writes to its own folder
${PIPE_OUTPUT} = OUTPUT/<name of the run's Job>, except for a job with
mode: incremental, whose runs all write OUTPUT: each scores only the input
files new or changed since the last and commits the next generation there.
Runs never overlap: the CronJob forbids it, and the output folder's lock
refuses a second writer.

Paths. Relative paths in the job resolve against /etc/pipe in the pod, which
holds only the job file: refer to inputs and models by absolute paths (under
the mount path, or in the image) or through ${VAR}s set with --env.

Failures. Each index is retried --backoff-limit-per-index times; a pod that
exits 2 (an invalid job: retrying cannot help) fails the whole Job; pods
evicted or preempted are replaced without counting as failures. A Job's pod
template cannot change: delete a finished Job before applying it again, or
let --ttl-seconds-after-finished do it.

Serving. With --serve, pipe k8s prints the ConfigMap, a Deployment of
--replicas pods running pipe serve JOB on ports 8000 (REST, named http) and
8001 (gRPC, named grpc), and a Service exposing both. Pods are ready once
their models are loaded (readiness probe on /v2/health/ready, a start-up
probe allowing five minutes, liveness on /v2/health/live) and get 45 seconds
to drain on termination. The job is checked to be servable (its input and
response stages, no stage dropping rows) but not built.`,
		Example: `  pipe k8s job.yaml --shards 8 --image registry.example/pipe:1.0 \
      --volume-claim scoring-data --cpu 2 --memory 4Gi | kubectl apply -f -
  pipe k8s job.yaml --shards 4 --image pipe:1.0 --volume-claim data \
      --schedule "0 3 * * *" --set read.paths=[/data/in/*.parquet] --load-only
  pipe k8s job.yaml --serve --replicas 2 --image pipe:1.0 --volume-claim models`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.serve {
				if err := o.checkServe(); err != nil {
					return err
				}
				return runK8sServe(g, o, args[0])
			}
			o.hasMaxFailed = cmd.Flags().Changed("max-failed-indexes")
			o.hasTTL = cmd.Flags().Changed("ttl-seconds-after-finished")
			if err := o.check(); err != nil {
				return err
			}
			return runK8s(g, o, args[0])
		},
	}
	o.addFlags(c.Flags())
	return c
}

// addFlags registers the flags of pipe k8s.
func (o *k8sOptions) addFlags(f *pflag.FlagSet) {
	f.IntVar(&o.shards, "shards", 0, "number of shards: the Job's completions (required)")
	f.StringVar(&o.image, "image", "", "container image with the pipe binary on its PATH (required)")
	f.IntVar(&o.parallelism, "parallelism", 0, "shards running at once, 1..N (default N)")
	f.Int32Var(&o.backoffLimitPerIndex, "backoff-limit-per-index", 3, "retries of each shard before it counts as failed")
	f.Int32Var(&o.maxFailedIndexes, "max-failed-indexes", 0, "fail the Job once this many shards failed (default: run every shard)")
	f.Int32Var(&o.ttl, "ttl-seconds-after-finished", 0, "delete the finished Job after this many seconds (default: keep it)")
	f.StringVar(&o.name, "name", "", "name of the objects (default: the job's name:, else the file's base name), made a DNS-1123 label")
	f.StringVar(&o.namespace, "namespace", "", "namespace of the objects (default: kubectl's)")
	f.StringVar(&o.schedule, "schedule", "", `print a CronJob on this 5-field cron schedule ("0 3 * * *") or @hourly, @daily...`)
	f.StringVar(&o.timeZone, "time-zone", "", "time zone of --schedule (e.g. Europe/Paris; default: the controller's)")
	f.StringVar(&o.output, "output", "", "output location, given to the pods as PIPE_OUTPUT; required without --volume-claim")
	f.StringVar(&o.volumeClaim, "volume-claim", "", "PersistentVolumeClaim mounted at --mount-path in every pod, for inputs and outputs")
	f.StringVar(&o.mountPath, "mount-path", "/data", "where --volume-claim is mounted")
	f.StringVar(&o.cpu, "cpu", "", "CPU request of each pod (e.g. 2, 500m)")
	f.StringVar(&o.memory, "memory", "", "memory request and limit of each pod (e.g. 4Gi)")
	f.StringVar(&o.serviceAccount, "service-account", "", "service account of the pods (e.g. for cloud storage access)")
	f.StringArrayVar(&o.set, "set", nil, "override a stage setting in every pod: ID.KEY=VALUE (repeatable; passed to pipe run)")
	f.StringArrayVar(&o.env, "env", nil, "environment variable of the pods: KEY=VALUE (repeatable)")
	f.StringArrayVar(&o.envFromSecrets, "env-from-secret", nil, "Secret whose keys become environment variables of the pods, e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3:// inputs and outputs (repeatable)")
	f.BoolVar(&o.loadOnly, "load-only", false, "check only the job file (YAML, keys, variables, --set), not its stages")
	f.BoolVar(&o.serve, "serve", false, "print a Deployment and a Service running pipe serve (see below) instead of a batch Job")
	f.IntVar(&o.replicas, "replicas", 1, "with --serve: pods of the Deployment")
	f.StringVar(&o.tokenSecret, "token-secret", "", "with --serve: Secret whose key \"token\" becomes PIPE_SERVE_TOKEN, the bearer token clients must send")
}

// runK8s validates the job and prints the objects; nothing is printed on error.
func runK8s(g *globals, o *k8sOptions, file string) error {
	data, base, name, err := o.readJob(file)
	if err != nil {
		return err
	}
	if o.output == "" {
		o.output = path.Join(o.mountPath, "out", name)
	}
	if err := o.validateJob(g, file, data); err != nil {
		return err
	}
	if !bytes.Contains(data, []byte("${"+k8sOutputEnv)) {
		fmt.Fprintf(g.stderr, "warning: %s does not use ${%s}; its sinks write where the job file says\n", file, k8sOutputEnv)
	}
	objs := []any{o.configMap(name, base, data)}
	job := o.job(name, base)
	if o.schedule != "" {
		objs = append(objs, o.cronJob(name, job))
	} else {
		objs = append(objs, job)
	}
	return writeK8s(g.stdout, objs)
}

// readJob reads the job file and returns its bytes, its base name (the
// ConfigMap's key) and the objects' name.
func (o *k8sOptions) readJob(file string) (data []byte, base, name string, err error) {
	if data, err = readJobFile(file); err != nil {
		return nil, "", "", err
	}
	base = filepath.Base(file)
	if errs := validation.IsConfigMapKey(base); len(errs) > 0 {
		return nil, "", "", usage("%s: the file name is not a valid ConfigMap key (%s); rename the file", file, strings.Join(errs, "; "))
	}
	name, err = o.objectName(file, data)
	return data, base, name, err
}

// readJobFile reads the bytes the ConfigMap will hold.
func readJobFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", pipeline.ErrInvalidJob, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, pipeline.MaxJobBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", pipeline.ErrInvalidJob, file, err)
	}
	return data, nil
}

// check validates the flags that do not need the job file.
func (o *k8sOptions) check() error {
	if o.shards == 0 {
		return usage("--shards is required")
	}
	if o.shards < 1 || o.shards > k8sMaxShards {
		return usage("--shards: %d is not in 1..%d", o.shards, k8sMaxShards)
	}
	if o.image == "" {
		return usage("--image is required")
	}
	if strings.ContainsAny(o.image, " \t\n") {
		return usage("--image: %q holds white space", o.image)
	}
	if o.parallelism == 0 {
		o.parallelism = o.shards
	}
	if o.parallelism < 1 || o.parallelism > o.shards {
		return usage("--parallelism: %d is not in 1..%d (the shards)", o.parallelism, o.shards)
	}
	if o.backoffLimitPerIndex < 0 {
		return usage("--backoff-limit-per-index: %d is negative", o.backoffLimitPerIndex)
	}
	if o.hasMaxFailed && (o.maxFailedIndexes < 0 || int(o.maxFailedIndexes) > o.shards) {
		return usage("--max-failed-indexes: %d is not in 0..%d (the shards)", o.maxFailedIndexes, o.shards)
	}
	if o.hasTTL && o.ttl < 0 {
		return usage("--ttl-seconds-after-finished: %d is negative", o.ttl)
	}
	if o.namespace != "" {
		if errs := validation.IsDNS1123Label(o.namespace); len(errs) > 0 {
			return usage("--namespace: %q: %s", o.namespace, strings.Join(errs, "; "))
		}
	}
	if o.serviceAccount != "" {
		if errs := validation.IsDNS1123Subdomain(o.serviceAccount); len(errs) > 0 {
			return usage("--service-account: %q: %s", o.serviceAccount, strings.Join(errs, "; "))
		}
	}
	if err := o.checkSecrets(); err != nil {
		return err
	}
	if o.schedule != "" {
		if err := checkCron(o.schedule); err != nil {
			return usage("--schedule: %v", err)
		}
	} else if o.timeZone != "" {
		return usage("--time-zone needs --schedule")
	}
	if o.volumeClaim == "" && o.output == "" {
		return usage("--output is required without --volume-claim: give an output location all pods share")
	}
	if o.volumeClaim != "" {
		if errs := validation.IsDNS1123Subdomain(o.volumeClaim); len(errs) > 0 {
			return usage("--volume-claim: %q: %s", o.volumeClaim, strings.Join(errs, "; "))
		}
		if !path.IsAbs(o.mountPath) || path.Clean(o.mountPath) == "/" {
			return usage("--mount-path: %q is not an absolute path below /", o.mountPath)
		}
		o.mountPath = path.Clean(o.mountPath)
		if o.mountPath == k8sJobDir || strings.HasPrefix(k8sJobDir, o.mountPath+"/") || strings.HasPrefix(o.mountPath, k8sJobDir+"/") {
			return usage("--mount-path: %q overlaps %s, where the job file is mounted", o.mountPath, k8sJobDir)
		}
	}
	var err error
	if o.cpuQ, err = parseQuantity("--cpu", o.cpu); err != nil {
		return err
	}
	if o.memQ, err = parseQuantity("--memory", o.memory); err != nil {
		return err
	}
	return o.parseEnv()
}

// parseQuantity parses a resource quantity; "" means none.
func parseQuantity(flag, s string) (*resource.Quantity, error) {
	if s == "" {
		return nil, nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return nil, usage("%s: %q is not a Kubernetes quantity (e.g. 2, 500m, 4Gi): %v", flag, s, err)
	}
	if q.Sign() <= 0 {
		return nil, usage("%s: %q is not positive", flag, s)
	}
	return &q, nil
}

// parseEnv checks the --env flags.
func (o *k8sOptions) parseEnv() error {
	seen := map[string]bool{}
	for _, kv := range o.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usage("--env %s: want KEY=VALUE", kv)
		}
		if errs := validation.IsEnvVarName(k); len(errs) > 0 {
			return usage("--env %s: %q is not a variable name: %s", kv, k, strings.Join(errs, "; "))
		}
		switch k {
		case k8sOutputEnv:
			return usage("--env %s: set the output with --output", kv)
		case k8sRunEnv, k8sIndexEnv:
			return usage("--env %s: %s is set by pipe k8s or Kubernetes", kv, k)
		}
		if seen[k] {
			return usage("--env %s: %s is given twice", kv, k)
		}
		seen[k] = true
		o.envVars = append(o.envVars, corev1.EnvVar{Name: k, Value: v})
	}
	return nil
}

// objectName is --name, else the job's name:, else the file's base name
// without extension, made a DNS-1123 label short enough for the kind.
func (o *k8sOptions) objectName(file string, data []byte) (string, error) {
	max := k8sJobNameMax
	if o.schedule != "" {
		max = k8sCronNameMax
	}
	if o.name != "" {
		name, err := k8sName(o.name, max)
		if err != nil {
			return "", usage("--name: %v", err)
		}
		return name, nil
	}
	// A lenient look at the name: key; pipeline.Load checks the file after.
	var head struct {
		Name string `yaml:"name"`
	}
	_ = yaml.Unmarshal(data, &head)
	for _, s := range []string{head.Name, strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))} {
		if name, err := k8sName(s, max); err == nil {
			return name, nil
		}
	}
	return "", usage("%s: no usable name in the job's name: or the file name; give --name", file)
}

var k8sNameBad = regexp.MustCompile(`[^a-z0-9]+`)

// k8sName makes s a DNS-1123 label of at most max characters: lowercase,
// runs of other characters become one '-', no '-' at either end.
func k8sName(s string, max int) (string, error) {
	name := strings.Trim(k8sNameBad.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(name) > max {
		name = strings.TrimRight(name[:max], "-")
	}
	if name == "" {
		return "", fmt.Errorf("%q has no letter or digit", s)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 { // a safety net
		return "", fmt.Errorf("%q: %s", name, strings.Join(errs, "; "))
	}
	return name, nil
}

var (
	cronDescriptors = map[string]bool{"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
		"@daily": true, "@midnight": true, "@hourly": true}
	cronNumeric = regexp.MustCompile(`^[0-9*,/-]+$`)
	cronNamed   = regexp.MustCompile(`^[0-9A-Za-z*,/?-]+$`)
)

// checkCron checks a schedule's shape only: a descriptor such as @daily, or
// five fields (minute hour day-of-month month day-of-week) made of digits,
// * , - / and, in the last three, ? and names (JAN, MON). Ranges are left
// to the API server.
func checkCron(s string) error {
	if cronDescriptors[s] {
		return nil
	}
	if strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=") {
		return fmt.Errorf("%q: Kubernetes refuses time zones in the schedule; use --time-zone", s)
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return fmt.Errorf("%q has %d fields; want 5 (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly", s, len(fields))
	}
	names := [5]string{"minute", "hour", "day-of-month", "month", "day-of-week"}
	for i, f := range fields {
		re := cronNamed
		if i < 2 {
			re = cronNumeric
		}
		if !re.MatchString(f) {
			return fmt.Errorf("%q: %s field %q holds characters a cron field cannot", s, names[i], f)
		}
	}
	return nil
}

// validateJob loads the job with the pod's variables and, unless
// --load-only, builds it as pipe validate does.
func (o *k8sOptions) validateJob(g *globals, file string, data []byte) error {
	vars := map[string]string{k8sOutputEnv: o.output}
	for _, e := range o.envVars {
		vars[e.Name] = e.Value
	}
	lookup := func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", pipeline.ErrInvalidJob, file, err)
	}
	job, err := pipeline.Load(data, file, filepath.Dir(abs), pipeline.LoadOptions{Env: lookup, Set: o.set})
	if job == nil || (err != nil && o.loadOnly) {
		return err
	}
	o.incremental = job.Incremental()
	if o.loadOnly {
		return nil
	}
	// Building checks the job; its info lines (model placement on this
	// machine) say nothing about the cluster.
	if g.logLevel == "info" {
		g.logLevel = "warn"
	}
	log, lerr := g.logger()
	if lerr != nil {
		return lerr
	}
	p, berr := pipeline.Build(job, pipeline.BuildOptions{Log: log})
	if berr != nil {
		return berr
	}
	defer p.Close()
	if err != nil { // Build reports load problems too; this is a safety net.
		return err
	}
	if err := p.CheckShards(o.shards); err != nil {
		return usage("%s: %v", file, err)
	}
	for _, w := range p.Warnings() {
		fmt.Fprintln(g.stderr, "warning:", w.String())
	}
	return nil
}

func (o *k8sOptions) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: o.namespace, Labels: k8sLabels(name)}
}

func k8sLabels(name string) map[string]string {
	return map[string]string{k8sLabelName: "pipe", k8sLabelInstance: name}
}

// configMap holds the job file under its base name.
func (o *k8sOptions) configMap(name, base string, data []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: o.meta(name),
		Data:       map[string]string{base: string(data)},
	}
}

// job is the Indexed Job whose pod k runs shard k of N.
func (o *k8sOptions) job(name, base string) *batchv1.Job {
	indexed := batchv1.IndexedCompletion
	spec := batchv1.JobSpec{
		CompletionMode:       &indexed,
		Completions:          ptr(int32(o.shards)),
		Parallelism:          ptr(int32(o.parallelism)),
		BackoffLimitPerIndex: ptr(o.backoffLimitPerIndex),
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{ // exit 2: an invalid job or refused output, the same for every shard
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(k8sContainer), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{exitUsage},
				},
			},
			{ // evictions and preemptions are not the shard's fault
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			},
		}},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: k8sLabels(name)},
			Spec:       o.podSpec(name, base),
		},
	}
	if o.hasMaxFailed {
		spec.MaxFailedIndexes = ptr(o.maxFailedIndexes)
	}
	if o.hasTTL {
		spec.TTLSecondsAfterFinished = ptr(o.ttl)
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: o.meta(name),
		Spec:       spec,
	}
}

// cronJob runs job on the schedule, one run at a time.
func (o *k8sOptions) cronJob(name string, job *batchv1.Job) *batchv1.CronJob {
	spec := batchv1.CronJobSpec{
		Schedule:          o.schedule,
		ConcurrencyPolicy: batchv1.ForbidConcurrent,
		JobTemplate: batchv1.JobTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: k8sLabels(name)},
			Spec:       job.Spec,
		},
	}
	if o.timeZone != "" {
		spec.TimeZone = ptr(o.timeZone)
	}
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: o.meta(name),
		Spec:       spec,
	}
}

func (o *k8sOptions) podSpec(name, base string) corev1.PodSpec {
	args := []string{"pipe", "run", path.Join(k8sJobDir, base), "--shard", fmt.Sprintf("auto/%d", o.shards), "-q"}
	for _, s := range o.set {
		args = append(args, "--set", s)
	}
	var env []corev1.EnvVar
	if o.schedule != "" && !o.incremental {
		// Every scheduled run writes under its own folder, named for its Job;
		// an incremental job's runs extend one output.
		env = append(env,
			corev1.EnvVar{Name: k8sRunEnv, ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['" + k8sJobNameLabel + "']"},
			}},
			corev1.EnvVar{Name: k8sOutputEnv, Value: strings.TrimRight(o.output, "/") + "/$(" + k8sRunEnv + ")"})
	} else {
		env = append(env, corev1.EnvVar{Name: k8sOutputEnv, Value: o.output})
	}
	env = append(env, o.envVars...)
	c := corev1.Container{
		Name:    k8sContainer,
		Image:   o.image,
		Command: args,
		Env:     env,
		EnvFrom: o.envFrom(),
		VolumeMounts: []corev1.VolumeMount{
			{Name: k8sJobVolume, MountPath: k8sJobDir, ReadOnly: true},
		},
	}
	if o.cpuQ != nil || o.memQ != nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	if o.cpuQ != nil {
		c.Resources.Requests[corev1.ResourceCPU] = *o.cpuQ
	}
	if o.memQ != nil {
		c.Resources.Requests[corev1.ResourceMemory] = *o.memQ
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: *o.memQ}
	}
	spec := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: o.serviceAccount,
		Volumes: []corev1.Volume{{Name: k8sJobVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}},
		}}},
	}
	if o.volumeClaim != "" {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: k8sDataVolume, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.volumeClaim},
		}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: k8sDataVolume, MountPath: o.mountPath})
	}
	spec.Containers = []corev1.Container{c}
	return spec
}

// envFrom returns the pods' --env-from-secret sources: credentials reach
// the pods by reference, never in the printed objects.
func (o *k8sOptions) envFrom() []corev1.EnvFromSource {
	var out []corev1.EnvFromSource
	for _, s := range o.envFromSecrets {
		out = append(out, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: s}}})
	}
	return out
}

// checkSecrets checks the names given to --env-from-secret.
func (o *k8sOptions) checkSecrets() error {
	for _, s := range o.envFromSecrets {
		if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
			return usage("--env-from-secret: %q: %s", s, strings.Join(errs, "; "))
		}
	}
	return nil
}

// writeK8s prints the objects as YAML documents separated by ---; it
// marshals them all before writing anything.
func writeK8s(w io.Writer, objs []any) error {
	var buf bytes.Buffer
	for i, obj := range objs {
		b, err := k8syaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("k8s: %v", err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func ptr[T any](v T) *T { return &v }
