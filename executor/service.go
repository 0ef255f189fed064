package executor

// ServiceKey is the key under which a job offers its executor to stages in
// stages.Env.Services.
const ServiceKey = "executor"
