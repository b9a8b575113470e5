"""The embedded AWS endpoint answers boto3 over HTTP, found through AWS_ENDPOINT_URL alone."""

import boto3


def test_boto3_reaches_moto_over_http_when_endpoint_env_is_set(aws):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="probe")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert msgs[0]["Body"] == "hello"
    assert str(aws.port) in sqs.meta.endpoint_url
