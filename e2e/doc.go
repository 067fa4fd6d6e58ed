// Package e2e proves vllm-hpa's output on a real Kubernetes control plane
// running on loopback: the API server accepts every object the function
// emits, and the generated HorizontalPodAutoscaler scales a Deployment on
// the exact metric names the function writes. Run it with e2e/run.sh.
package e2e
