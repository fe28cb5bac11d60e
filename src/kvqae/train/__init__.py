"""kvqae.train"""
