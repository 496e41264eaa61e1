package io.rund.api;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import io.grpc.health.v1.Health;
import io.rund.proto.v1.JobController;
import org.apache.pekko.grpc.ServiceDescription;
import org.apache.pekko.grpc.internal.ServiceDescriptionImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The served services' descriptors with their .proto comments, for server reflection: the Java classes protoc
 * generates embed descriptors stripped of comments, so the build also writes the files' descriptors with their source
 * info ({@value #RESOURCE}, by protoc --include_source_info) and reflection answers from those. Without that resource
 * (a build that skipped the step) reflection still answers, from the generated classes, without comments.
 */
final class DocumentedDescriptors {

    static final String RESOURCE = "documented-descriptors.pb";
    private static final Logger LOG = LoggerFactory.getLogger(DocumentedDescriptors.class);

    private DocumentedDescriptors() {}

    /** JobController and Health, described with comments where the build wrote them. */
    static List<ServiceDescription> services() {
        try (InputStream in = DocumentedDescriptors.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                LOG.warn("{} is not on the class path: server reflection answers without the .proto comments", RESOURCE);
                return List.of(JobController.description, Health.description);
            }
            Map<String, FileDescriptor> files = build(FileDescriptorSet.parseFrom(in));
            return List.of(
                    new ServiceDescriptionImpl(JobController.name, required(files, JobController.description)),
                    new ServiceDescriptionImpl(Health.name, required(files, Health.description)));
        } catch (IOException | DescriptorValidationException e) {
            throw new IllegalStateException("cannot read " + RESOURCE + " (built by protoc with rund): " + e.getMessage(), e);
        }
    }

    /** Every file of {@code set}, which protoc writes with each file after those it imports. */
    private static Map<String, FileDescriptor> build(FileDescriptorSet set) throws DescriptorValidationException {
        Map<String, FileDescriptor> built = new HashMap<>();
        for (FileDescriptorProto file : set.getFileList()) {
            FileDescriptor[] dependencies = file.getDependencyList().stream().map(built::get).toArray(FileDescriptor[]::new);
            built.put(file.getName(), FileDescriptor.buildFrom(file, dependencies));
        }
        return built;
    }

    private static FileDescriptor required(Map<String, FileDescriptor> files, ServiceDescription generated) {
        String name = generated.descriptor().getName();
        FileDescriptor file = files.get(name);
        if (file == null) {
            throw new IllegalStateException(RESOURCE + " lacks " + name + ": the build must list it for protoc");
        }
        return file;
    }
}
