package io.rund.probe;

import io.grpc.*;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.protobuf.ProtoUtils;
import io.rund.api.ApiFixture;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.cli.RundClient;
import io.rund.proto.v1.*;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

class FanoutProbe {
    @TempDir Path state;

    @Test
    void probe() throws Exception {
        int followers = Integer.getInteger("followers", 200);
        int conns = Integer.getInteger("conns", 4);
        try (ApiFixture rund = ApiFixture.start(state); RundClient alice = rund.client("alice")) {
            String id = alice.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c")
                    .addArgs("sleep 3; seq -f 'out %09g' 1 " + Integer.getInteger("lines", 749000) + " & seq -f 'err %09g' 1 " + Integer.getInteger("lines", 749000) + " >&2; wait").build()).getJobId();
            TlsFiles tls = ExampleCertificates.files("alice");
            var ssl = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                    .keyManager(TlsContexts.keyManager(tls)).trustManager(TlsContexts.trustManagers(tls))
                    .protocols(TlsContexts.TLS_1_3).build();
            List<ManagedChannel> channels = new ArrayList<>();
            for (int i = 0; i < conns; i++) {
                channels.add(NettyChannelBuilder.forAddress("localhost", rund.port()).sslContext(ssl)
                        .directExecutor().flowControlWindow(256 * 1024).build());
            }
            var method = MethodDescriptor.<LogsRequest, LogChunk>newBuilder().setType(MethodDescriptor.MethodType.SERVER_STREAMING)
                    .setFullMethodName("rund.v1.JobController/Logs")
                    .setRequestMarshaller(ProtoUtils.marshaller(LogsRequest.getDefaultInstance()))
                    .setResponseMarshaller(ProtoUtils.marshaller(LogChunk.getDefaultInstance())).build();
            AtomicLong bytes = new AtomicLong();
            CountDownLatch done = new CountDownLatch(followers);
            AtomicInteger failures = new AtomicInteger();
            long t0 = System.nanoTime();
            for (int f = 0; f < followers; f++) {
                ClientCall<LogsRequest, LogChunk> call = channels.get(f % conns).newCall(method, CallOptions.DEFAULT);
                call.start(new ClientCall.Listener<>() {
                    @Override public void onMessage(LogChunk m) { bytes.addAndGet(m.getData().getData().size()); call.request(1); }
                    @Override public void onClose(Status s, Metadata t) { if (!s.isOk()) { failures.incrementAndGet(); System.out.println(s); } done.countDown(); }
                }, new Metadata());
                call.sendMessage(LogsRequest.newBuilder().setJobId(id).setFollow(true).build());
                call.halfClose();
                call.request(1);
            }
            done.await(10, TimeUnit.MINUTES);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("PROBE followers=%d conns=%d bytes=%d time=%.1fs rate=%.1f MB/s failures=%d%n", followers, conns, bytes.get(), s, bytes.get() / 1e6 / (s - 3), failures.get());
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            System.out.printf("PROBE cpu=%.1fs%n", os.getProcessCpuTime() / 1e9);
            var tm = java.lang.management.ManagementFactory.getThreadMXBean();
            Map<String, Long> byName = new TreeMap<>();
            for (long tid : tm.getAllThreadIds()) { var info = tm.getThreadInfo(tid); if (info == null) continue;
                byName.merge(info.getThreadName().replaceAll("[0-9]+", "N"), tm.getThreadCpuTime(tid), Long::sum); }
            byName.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(12)
                .forEach(e -> System.out.printf("PROBE thread %s %.1fs%n", e.getKey(), e.getValue() / 1e9));
            channels.forEach(ManagedChannel::shutdownNow);
        }
    }
}
