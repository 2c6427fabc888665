// A webhook receiver in Go (standard library only) that verifies every delivery before using it.
//
//	cd examples/go_receiver
//	WEBHOOK_SECRET=whsec_... go run .      # listens on 127.0.0.1:4545 (PORT changes it)
//
// Prints "Valid" and the payload for a genuine delivery; answers 401 to a forged one.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
)

var secret = []byte(getenv("WEBHOOK_SECRET", "your-secret-here"))

func getenv(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

// signatureIsValid checks "sha256=" + the hex HMAC-SHA256 of the raw body, in constant time.
func signatureIsValid(body []byte, header string) bool {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	expected := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(expected), []byte(header))
}

func receive(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20)) // the raw bytes: verify before parsing
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if !signatureIsValid(body, r.Header.Get("X-Webhook-Signature")) {
		fmt.Println("INVALID")
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil { // keeps the keys' order
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	fmt.Println("Valid")
	fmt.Println(pretty.String())
	fmt.Fprint(w, "OK")
}

func main() {
	port := getenv("PORT", "4545")
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Listening on :" + port)
	http.HandleFunc("/", receive)
	log.Fatal(http.Serve(listener, nil))
}
