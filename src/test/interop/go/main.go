// rund from Go (grpc-go over mutual TLS): starts a job, follows its log to the trailer, prints the exit code.
// Compiled by src/test/interop/run.sh where a Go toolchain is installed (Debian's golang-go and grpc packages).
// Usage: go run . ADDR CA CERT KEY
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	rundv1 "rund/v1"
)

func main() {
	addr, caFile, certFile, keyFile := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	pair, err := tls.LoadX509KeyPair(certFile, keyFile) // PKCS#8, SEC1 and PKCS#1 keys all load
	if err != nil {
		log.Fatal(err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		log.Fatalf("%s: no PEM certificate", caFile)
	}
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, MinVersion: tls.VersionTLS13})
	conn, err := grpc.Dial(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	jobs := rundv1.NewJobControllerClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	started, err := jobs.Start(ctx, &rundv1.StartRequest{Command: "sh", Args: []string{"-c", "echo hello; exit 3"}})
	if err != nil {
		log.Fatal(err) // status.Code(err) is the gRPC code: NotFound, InvalidArgument, FailedPrecondition, ...
	}
	logs, err := jobs.Logs(ctx, &rundv1.LogsRequest{JobId: started.JobId, Follow: true})
	if err != nil {
		log.Fatal(err)
	}
	for {
		chunk, err := logs.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		switch kind := chunk.Kind.(type) {
		case *rundv1.LogChunk_Data:
			os.Stdout.Write(kind.Data.Data)
		case *rundv1.LogChunk_Trailer:
			// Wrapper fields are nil when absent: exit_code is set for an exit, signal for a kill.
			if code := kind.Trailer.Status.ExitCode; code != nil {
				fmt.Printf("job %s exited with %d\n", started.JobId, code.Value)
			} else if signal := kind.Trailer.Status.Signal; signal != nil {
				fmt.Printf("job %s killed by signal %d\n", started.JobId, signal.Value)
			}
		}
	}
}
